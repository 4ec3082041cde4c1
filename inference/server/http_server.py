"""GraphPipe model server for one ONNX model: `python -m inference.server --model PATH.onnx`.

Every path is the model endpoint: GET answers the metadata as JSON (`curl host:9000`), POST takes
a flatbuffer Request (see `inference.server.endpoint`). Control paths as graphpipe-go has them:
`/control/is_ready` and `/control/is_alive` (`ok` or 503), `/control/client_count`, and
`/control/shutdown` (POST or GET): stop taking model requests (503), finish those in flight, exit 0
(SIGTERM and SIGINT do the same); it answers only this machine, or a control token when one is set
(`inference.server.control_access`), and 403 to anyone else. `/metrics`: Prometheus text (see
`inference.server.metrics`).

HTTP/1.1 keep-alive, TCP_NODELAY, one thread per connection; the model runs on one inference
thread behind a dynamic batching queue (`inference.server.batching`). A bad request gets a 400 and
leaves the connection usable. One log line per request, never its contents. Flags:
`python -m inference.server --help` (`inference.server.options`).
"""

import logging
import re
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from inference.server.batching import BatchingModel
from inference.server.control_access import refusal_reason
from inference.server.endpoint import Answer, ModelEndpoint, refusal
from inference.server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from inference.server.metrics import ServerMetrics
from inference.graphpipe.model_tag import METADATA_DIGEST_HEADER
from inference.server.response_cache import DirectoryRows, MemoryRows, ResponseCache
from inference.server.runtime import SERVER_NAME, SERVER_VERSION, OnnxModel
from inference.server.options import DEFAULT_MAX_BODY_BYTES, parse_args
from inference.server.value_inputs import ValueInputsError

IDLE_TIMEOUT_S = 120  # a keep-alive connection silent this long is closed
DRAIN_TIMEOUT_S = 300  # the longest a shutdown waits for requests in flight
DRAIN_CHUNK_BYTES = 1 << 20
ACTIVE_WINDOW_S = 2.0  # a connection that sent a request this recently may send another soon
IS_READY, IS_ALIVE, SHUTDOWN = "/control/is_ready", "/control/is_alive", "/control/shutdown"
CLIENT_COUNT, METRICS = "/control/client_count", "/metrics"
STATE_CHANGING = {SHUTDOWN}  # the other control paths only read

log = logging.getLogger("inference.server")


class GraphPipeServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], endpoint: ModelEndpoint, *,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 metrics: ServerMetrics | None = None, control_token: str | None = None):
        self.endpoint = endpoint
        self.control_token = control_token
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics or ServerMetrics()
        self.ready = True
        self.draining = threading.Event()  # set: model requests get 503
        self.shutdown_requested = threading.Event()
        self.open_connections = 0
        self._last_request_at: dict[int, float] = {}  # per open connection
        self._model_requests = 0
        self._counts = threading.Condition()
        super().__init__(address, GraphPipeHandler)
        self.metrics.watch_connections(lambda: self.open_connections)

    def get_request(self):
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    def connection_opened(self, connection: int, opened: bool) -> None:
        with self._counts:
            self.open_connections += 1 if opened else -1
            if not opened:
                self._last_request_at.pop(connection, None)

    def request_began(self, connection: int) -> None:
        self._last_request_at[connection] = time.monotonic()

    def active_clients(self, window_s: float = ACTIVE_WINDOW_S) -> int:
        """Open connections that sent a request in the last WINDOW_S: the callers the batcher
        may expect company from (idle keep-alive connections do not count)."""
        since = time.monotonic() - window_s
        return sum(1 for at in list(self._last_request_at.values()) if at >= since)

    def model_request_started(self) -> bool:
        """Count a model request in; False once draining (the caller answers 503)."""
        with self._counts:
            if self.draining.is_set():
                return False
            self._model_requests += 1
            return True

    def model_request_finished(self) -> None:
        with self._counts:
            self._model_requests -= 1
            self._counts.notify_all()

    def drain(self, timeout: float = DRAIN_TIMEOUT_S) -> bool:
        """Take no more model requests; wait for those in flight. False if some were left."""
        self.ready = False
        with self._counts:
            self.draining.set()
            return self._counts.wait_for(lambda: self._model_requests == 0, timeout)


class GraphPipeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"{SERVER_NAME}/{SERVER_VERSION}"
    sys_version = ""
    timeout = IDLE_TIMEOUT_S
    server: GraphPipeServer

    def setup(self) -> None:
        super().setup()
        self.server.connection_opened(id(self), True)

    def finish(self) -> None:
        self.server.connection_opened(id(self), False)
        super().finish()

    def do_GET(self) -> None:
        self._respond(body_required=False)

    def do_POST(self) -> None:
        self._respond(body_required=True)

    def _respond(self, *, body_required: bool) -> None:
        started = time.perf_counter()
        self.server.request_began(id(self))
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
        seconds = time.perf_counter() - started
        if answer is not None:
            self.server.metrics.record(answer.kind or "unreadable", answer.error, seconds)
        log.info("%s %s %s %.1f ms", self.command, self._route(),
                 answer.status if answer else "dropped", seconds * 1000)
        if self._route() == SHUTDOWN and answer is not None and answer.status == 200:
            self.server.shutdown_requested.set()

    def _answer(self, body: bytes) -> Answer:
        route = self._route()
        if route.startswith("/control/"):
            return self._control(route)
        if route == METRICS:
            return Answer(200, METRICS_CONTENT_TYPE, self.server.metrics.exposition(), "metrics")
        if not self.server.model_request_started():
            self.close_connection = True
            return refusal(503, "the server is shutting down", kind="infer")
        try:
            if self.command == "GET":
                return Answer(200, "application/json", self.server.endpoint.metadata_json,
                              "metadata")
            return self.server.endpoint.answer(body)
        finally:
            self.server.model_request_finished()

    def _control(self, route: str) -> Answer:
        if route in STATE_CHANGING:
            reason = refusal_reason(self.client_address[0], self.headers,
                                    self.server.control_token)
            if reason is not None:
                return refusal(403, reason, kind="control")
        if route == IS_ALIVE or (route == IS_READY and self.server.ready):
            return Answer(200, "text/plain", b"ok", "control")
        if route == IS_READY:
            return refusal(503, "not ready", kind="control")
        if route == CLIENT_COUNT:
            return Answer(200, "text/plain", str(self.server.open_connections).encode(),
                          "control")
        if route == SHUTDOWN:
            self.close_connection = True
            return Answer(200, "text/plain", b"shutting down", "control")
        return refusal(404, f"no control path {route}; there are {IS_READY}, {IS_ALIVE}, "
                            f"{CLIENT_COUNT} and {SHUTDOWN}", kind="control", error="bad_request")

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        if answer.kind in ("infer", "metadata") and answer.status == 200:
            self.send_header(METADATA_DIGEST_HEADER, self.server.endpoint.metadata_digest)
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


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        model = OnnxModel(args.model, intra_op_threads=args.threads,
                          value_inputs=args.value_inputs)
    except ValueInputsError as error:
        sys.stderr.write(f"python -m inference.server: error: {error}\n")
        sys.exit(2)
    metrics = ServerMetrics()
    batching = BatchingModel(model, max_batch=args.max_batch,
                             max_wait_s=args.max_wait_ms / 1000,
                             on_batch=metrics.batch_rows.observe)
    cache = None
    if args.cache:
        cache = ResponseCache(DirectoryRows(args.cache_dir) if args.cache_dir
                              else MemoryRows(args.cache_size))
        metrics.watch_cache(cache)
    endpoint = ModelEndpoint(batching, default_outputs=args.default_outputs, cache=cache)
    server = GraphPipeServer(args.listen, endpoint, max_body_bytes=args.max_body_bytes,
                             metrics=metrics, control_token=args.control_token)
    batching.expected_callers = server.active_clients
    metrics.watch_queue(lambda: batching.queued_rows)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: server.shutdown_requested.set())
    threading.Thread(target=server.serve_forever, name="graphpipe-http", daemon=True).start()
    host, port = server.server_address[:2]
    log.info("serving %s (onnx sha256 %s) on http://%s:%d: %d intra-op threads, batches of up "
             "to %d rows waiting up to %g ms, %s", model.metadata.name, model.sha256[:12], host,
             port, model.session.get_session_options().intra_op_num_threads, args.max_batch,
             args.max_wait_ms, _describe_cache(args))
    server.shutdown_requested.wait()
    log.info("shutting down: finishing the requests in flight")
    if not server.drain():
        log.warning("gave up waiting for requests in flight after %d s", DRAIN_TIMEOUT_S)
    server.shutdown()
    server.server_close()
    batching.close()
    log.info("stopped")


def _describe_cache(args) -> str:
    if not args.cache:
        return "no response cache"
    if args.cache_dir:
        return f"response cache in {args.cache_dir}"
    return f"response cache of {args.cache_size} rows in memory"

