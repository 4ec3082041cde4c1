"""The GraphPipe model server: HTTP, the model endpoint, ONNX Runtime, batching, cache, metrics.

Imports `graphpipe` and ONNX Runtime; never `model`, torch or Django. Run: `python -m inference.server`.
"""
