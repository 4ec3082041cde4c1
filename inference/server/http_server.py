"""GraphPipe model server for one ONNX model: `python -m inference.server --model PATH.onnx`.

HTTP is uvicorn's (httptools parser, asyncio), a maintained production server; what each path
answers is the ASGI app in `inference.server.asgi`. The model runs on one inference thread behind
a dynamic batching queue (`inference.server.batching`), or, for a lone client with nothing queued,
on the event loop's thread (no hand-over). SIGTERM, SIGINT and `/control/shutdown`
stop taking model requests (503), finish those in flight, then stop uvicorn (which closes idle
keep-alive connections and waits for the rest) and exit 0. Flags: `python -m inference.server
--help` (`inference.server.options`).
"""

import logging
import signal
import socket
import sys
import threading
import time

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from inference.server.asgi import GraphPipeApp
from inference.server.batching import BatchingModel
from inference.server.endpoint import ModelEndpoint
from inference.server.metrics import ServerMetrics
from inference.server.options import DEFAULT_MAX_BODY_BYTES, parse_args
from inference.server.response_cache import DirectoryRows, MemoryRows, ResponseCache
from inference.server.runtime import DeviceError, OnnxModel
from inference.server.value_inputs import ValueInputsError

IDLE_TIMEOUT_S = 120  # a keep-alive connection silent this long is closed
DRAIN_TIMEOUT_S = 300  # the longest a shutdown waits for requests in flight
BACKLOG = 64
MAX_HEAD_BYTES = 64 * 1024  # request line and headers; more is a 400 and the connection closed

log = logging.getLogger("inference.server")


class GraphPipeServer:
    """The app behind uvicorn on a socket bound at construction (port 0: any free port).

    `serve_forever()` runs uvicorn in the calling thread until `shutdown()`, which may be called
    from any thread; `drain()` first makes model requests wait no more (503) and waits for those
    in flight."""

    def __init__(self, address: tuple[str, int], endpoint: ModelEndpoint, *,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 metrics: ServerMetrics | None = None, control_token: str | None = None):
        self.app = GraphPipeApp(endpoint, max_body_bytes=max_body_bytes, metrics=metrics,
                                control_token=control_token)
        self.endpoint, self.metrics = endpoint, self.app.metrics
        self.socket = _listening_socket(address)
        self.server_address = self.socket.getsockname()
        config = uvicorn.Config(
            self.app, http=BoundedHttpToolsProtocol, loop="asyncio", lifespan="off", interface="asgi3",
            access_log=False, server_header=False, log_config=None, backlog=BACKLOG,
            timeout_keep_alive=IDLE_TIMEOUT_S, timeout_graceful_shutdown=DRAIN_TIMEOUT_S)
        self.uvicorn = uvicorn.Server(config)
        self.app.open_connections = lambda: len(self.uvicorn.server_state.connections)
        self.metrics.watch_connections(self.app.open_connections)
        self._stopped = threading.Event()

    # the app's state, as the control paths and the tests see it
    ready = property(lambda self: self.app.ready,
                     lambda self, value: setattr(self.app, "ready", value))
    draining = property(lambda self: self.app.draining)
    shutdown_requested = property(lambda self: self.app.shutdown_requested)
    active_clients = property(lambda self: self.app.active_clients)

    def serve_forever(self) -> None:
        try:
            self.uvicorn.run(sockets=[self.socket])
        finally:
            self._stopped.set()

    def drain(self, timeout: float = DRAIN_TIMEOUT_S) -> bool:
        return self.app.drain(timeout)

    def shutdown(self, timeout: float = DRAIN_TIMEOUT_S + 10) -> None:
        """Stop uvicorn: no new connections, idle ones closed, answers in progress finished."""
        self.uvicorn.should_exit = True
        self._stopped.wait(timeout)

    def server_close(self) -> None:
        self.app.close()
        self.socket.close()


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a cap on a request's head: httptools itself keeps any
    length of URL or header, so a client sending one without end would fill the memory. Bytes
    are counted while the head is incomplete; past MAX_HEAD_BYTES (one read more at most) the
    client gets a 400 and the connection is closed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._in_head, self._head_bytes = True, 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self.send_400_response(f"request line and headers over {MAX_HEAD_BYTES} bytes")


def _listening_socket(address: tuple[str, int]) -> socket.socket:
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
    # and without it a keep-alive answer written in two parts waits ~40 ms for a delayed ACK
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        model = OnnxModel(args.model, intra_op_threads=args.threads,
                          value_inputs=args.value_inputs, device=args.device,
                          spinning=args.spinning, conv_algo_search=args.conv_algo_search)
    except (ValueInputsError, DeviceError) as error:
        sys.stderr.write(f"python -m inference.server: error: {error}\n")
        sys.exit(2)
    if model.device == "cuda":  # before the socket opens: no request meets a first-shape cost
        started = time.monotonic()
        sizes = model.warm_up(args.max_batch)
        log.info("warmed up the GPU on batch sizes %s in %.1f s (cuDNN algorithm search: %s)",
                 f"1-{sizes[-1]}" if sizes else "none", time.monotonic() - started,
                 args.conv_algo_search)
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
    serving = threading.Thread(target=server.serve_forever, name="graphpipe-http", daemon=True)
    serving.start()
    host, port = server.server_address[:2]
    log.info("serving %s (onnx sha256 %s) on http://%s:%d with uvicorn %s: %s, %d intra-op "
             "threads, batches of up to %d rows waiting up to %g ms, %s", model.metadata.name,
             model.sha256[:12], host, port, uvicorn.__version__, model.describe_device(),
             model.session.get_session_options().intra_op_num_threads, args.max_batch,
             args.max_wait_ms, _describe_cache(args))
    while not server.shutdown_requested.wait(1):
        if not serving.is_alive():
            log.error("the HTTP server stopped")
            sys.exit(1)
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
