"""GraphPipe model server for one ONNX model.

    python -m inference.server --model PATH.onnx --listen 127.0.0.1:9000

Every path is the model endpoint: GET answers the metadata as JSON (`curl host:9000`), POST takes
a flatbuffer Request (see `inference.endpoint`). `/control/is_ready` and `/control/is_alive`
answer `ok`. HTTP/1.1 keep-alive, TCP_NODELAY, one thread per connection; a bad request gets a
400 and leaves the connection usable. One log line per request, never its contents.
"""

import argparse
import logging
import os
import re
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from inference.endpoint import Answer, ModelEndpoint, refusal
from inference.runtime import SERVER_NAME, SERVER_VERSION, OnnxModel

DEFAULT_LISTEN = "127.0.0.1:9000"
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
IDLE_TIMEOUT_S = 120  # a keep-alive connection silent this long is closed
DRAIN_CHUNK_BYTES = 1 << 20
IS_READY, IS_ALIVE = "/control/is_ready", "/control/is_alive"

log = logging.getLogger("inference.server")


class GraphPipeServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], endpoint: ModelEndpoint, *,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES):
        self.endpoint = endpoint
        self.max_body_bytes = max_body_bytes
        self.ready = True
        super().__init__(address, GraphPipeHandler)

    def get_request(self):
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class GraphPipeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"{SERVER_NAME}/{SERVER_VERSION}"
    sys_version = ""
    timeout = IDLE_TIMEOUT_S
    server: GraphPipeServer

    def do_GET(self) -> None:
        self._respond(body_required=False)

    def do_POST(self) -> None:
        self._respond(body_required=True)

    def _respond(self, *, body_required: bool) -> None:
        started = time.perf_counter()
        try:
            body = self._read_body(required=body_required)
            answer = self._answer(body) if isinstance(body, bytes) else body
        except TimeoutError:
            self.close_connection = True
            answer = None
        except Exception as error:  # a bug of ours: answer it rather than drop the connection
            log.exception("failed to answer %s %s", self.command, self._route())
            answer = refusal(500, f"internal server error: {error}")
        if answer is not None:
            self._send(answer)
        log.info("%s %s %s %.1f ms", self.command, self._route(),
                 answer.status if answer else "dropped", (time.perf_counter() - started) * 1000)

    def _answer(self, body: bytes) -> Answer:
        route = self._route()
        if route == IS_ALIVE or (route == IS_READY and self.server.ready):
            return Answer(200, "text/plain", b"ok")
        if route == IS_READY:
            return refusal(503, "not ready")
        if self.command == "GET":
            return Answer(200, "application/json", self.server.endpoint.metadata_json)
        return self.server.endpoint.answer(body)

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(answer.body)

    def _route(self) -> str:
        return urlsplit(self.path).path

    def _read_body(self, *, required: bool) -> bytes | Answer | None:
        """The whole body, or the answer refusing it; None when the client went away."""
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            return refusal(411, "send the body with a Content-Length, not a Transfer-Encoding")
        lengths = set(self.headers.get_all("Content-Length", []))
        if not lengths:
            if required:
                return refusal(411, "a POST needs a Content-Length header")
            return b""
        length = lengths.pop()
        if lengths or not re.fullmatch(r"[0-9]{1,18}", length):
            self.close_connection = True
            return refusal(400, "invalid Content-Length header")
        length = int(length)
        if length > self.server.max_body_bytes:
            if not self._drain(length):
                return None
            return refusal(400, f"request body of {length} bytes is over the "
                                f"{self.server.max_body_bytes}-byte limit")
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            return None
        return body

    def _drain(self, length: int) -> bool:
        """Read and drop a body too big to keep, so the connection stays usable."""
        while length > 0:
            chunk = self.rfile.read(min(length, DRAIN_CHUNK_BYTES))
            if not chunk:
                self.close_connection = True
                return False
            length -= len(chunk)
        return True

    def log_request(self, code="-", size="-") -> None:
        pass  # _respond logs each request once, with its duration

    def log_message(self, format: str, *args) -> None:
        log.warning("%s: %s", self.address_string(), format % args)


def listen_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m inference.server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.environ.get("GP_MODEL"),
                        help="the .onnx file to serve (env GP_MODEL)")
    parser.add_argument("--listen", type=listen_address,
                        default=os.environ.get("GP_LISTEN", DEFAULT_LISTEN),
                        help=f"HOST:PORT (env GP_LISTEN, default {DEFAULT_LISTEN})")
    parser.add_argument("--max-body-bytes", type=positive_int, default=DEFAULT_MAX_BODY_BYTES,
                        help="larger request bodies get a 400 (default 64 MiB)")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="ONNX Runtime intra-op threads (default: one per core)")
    args = parser.parse_args(argv)
    if not args.model:
        parser.error("--model (or GP_MODEL) is required")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    model = OnnxModel(args.model, intra_op_threads=args.threads)
    server = GraphPipeServer(args.listen, ModelEndpoint(model),
                             max_body_bytes=args.max_body_bytes)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    threading.Thread(target=server.serve_forever, name="graphpipe-http", daemon=True).start()
    host, port = server.server_address[:2]
    log.info("serving %s (onnx sha256 %s) on http://%s:%d", model.metadata.name,
             model.sha256[:12], host, port)
    stopping.wait()
    log.info("shutting down")
    server.ready = False
    server.shutdown()
    server.server_close()
    log.info("stopped")


if __name__ == "__main__":
    main()
