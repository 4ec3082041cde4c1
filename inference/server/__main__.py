"""`python -m inference.server --model PATH.onnx`: see `inference.server.http_server`."""

from inference.server.http_server import main

main()
