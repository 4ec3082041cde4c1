"""The model server's HTTP side as a small ASGI app, served by uvicorn (`inference.server.http_server`).

Every path is the model endpoint: GET answers the metadata as JSON, POST takes a GraphPipe
flatbuffer request (`inference.server.endpoint`). Control paths as graphpipe-go has them:
`/control/is_ready`, `/control/is_alive` (`ok` or 503), `/control/client_count`, and
`/control/shutdown` (POST or GET; this machine or the control token only,
`inference.server.control_access`). `/metrics`: Prometheus text (`inference.server.metrics`).

uvicorn (with httptools) parses HTTP, keeps connections alive and refuses malformed framing with
a 400; this app reads the body up to the limit (a Content-Length over it is refused before a byte
is read, and uvicorn drops the rest, so the connection stays usable), answers every mistake with a
plain-text 4xx, runs the model off the event loop (but for a lone client's request, run in it:
no thread hand-over), and logs one line per request without its contents.
"""

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from inference.graphpipe.model_tag import METADATA_DIGEST_HEADER
from inference.server.control_access import refusal_reason
from inference.server.endpoint import Answer, ModelEndpoint, refusal
from inference.server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from inference.server.metrics import ServerMetrics
from inference.server.runtime import SERVER_NAME, SERVER_VERSION

ACTIVE_WINDOW_S = 2.0  # a connection that sent a request this recently may send another soon
MODEL_THREADS = 64  # requests waiting on the model (or the batching queue) at once
IS_READY, IS_ALIVE, SHUTDOWN = "/control/is_ready", "/control/is_alive", "/control/shutdown"
CLIENT_COUNT, METRICS = "/control/client_count", "/metrics"
STATE_CHANGING = {SHUTDOWN}  # the other control paths only read
SERVER_HEADER = (b"server", f"{SERVER_NAME}/{SERVER_VERSION}".encode())

log = logging.getLogger("inference.server")


class Headers:
    """A request's headers by case-insensitive name (the first of repeated ones)."""

    def __init__(self, raw: list[tuple[bytes, bytes]]):
        self._values: dict[str, str] = {}
        for name, value in raw:
            self._values.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(name.lower(), default)


class GraphPipeApp:
    def __init__(self, endpoint: ModelEndpoint, *, max_body_bytes: int,
                 metrics: ServerMetrics | None = None, control_token: str | None = None):
        self.endpoint = endpoint
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics or ServerMetrics()
        self.control_token = control_token
        self.ready = True
        self.draining = threading.Event()  # set: model requests get 503
        self.shutdown_requested = threading.Event()
        self.open_connections: Callable[[], int] = lambda: 0  # the HTTP server's count
        self._last_request_at: dict[object, float] = {}  # per client (host, port): a connection
        self._model_requests = 0
        self._counts = threading.Condition()
        self._model_threads = ThreadPoolExecutor(MODEL_THREADS, thread_name_prefix="model")

    # --- what the server and the batcher ask ----------------------------------------------------

    def active_clients(self, window_s: float = ACTIVE_WINDOW_S) -> int:
        """Connections that sent a request in the last WINDOW_S: the callers the batcher may
        expect company from (idle keep-alive connections do not count)."""
        since = time.monotonic() - window_s
        return sum(1 for at in list(self._last_request_at.values()) if at >= since)

    def drain(self, timeout: float) -> bool:
        """Take no more model requests; wait for those in flight. False if some were left."""
        self.ready = False
        with self._counts:
            self.draining.set()
            return self._counts.wait_for(lambda: self._model_requests == 0, timeout)

    def close(self) -> None:
        self._model_threads.shutdown(wait=True)

    # --- ASGI -----------------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":  # lifespan is off; websockets are not ours
            return
        started = time.perf_counter()
        method, route = scope["method"], scope["path"]
        self._seen(scope.get("client"))
        close = False
        try:
            answer, close = await self._answer(scope, method, route, receive)
        except Exception as error:  # a bug of ours: answer it rather than drop the connection
            log.exception("failed to answer %s %s", method, route)
            answer = refusal(500, f"internal server error: {error}")
        if answer is not None:
            await self._send(send, answer, close)
        seconds = time.perf_counter() - started
        if answer is not None:
            self.metrics.record(answer.kind or "unreadable", answer.error, seconds)
        log.info("%s %s %s %.1f ms", method, route, answer.status if answer else "dropped",
                 seconds * 1000)
        if route == SHUTDOWN and answer is not None and answer.status == 200:
            self.shutdown_requested.set()

    def _seen(self, client) -> None:
        now = time.monotonic()
        self._last_request_at[client] = now
        if len(self._last_request_at) > 4 * MODEL_THREADS:  # forget closed connections
            since = now - ACTIVE_WINDOW_S
            for key, at in list(self._last_request_at.items()):
                if at < since:
                    self._last_request_at.pop(key, None)

    async def _answer(self, scope, method: str, route: str, receive) -> tuple[Answer | None, bool]:
        """The answer (None: the client went away) and whether to close the connection."""
        if method not in ("GET", "POST"):
            return refusal(405, f"{method} is not supported: GET for the metadata, POST for a "
                                "GraphPipe request"), False
        body = await self._read_body(Headers(scope["headers"]), receive,
                                     required=method == "POST")
        if not isinstance(body, bytes):
            return body, False
        if route.startswith("/control/"):
            return self._control(route, scope), route == SHUTDOWN
        if route == METRICS:
            return Answer(200, METRICS_CONTENT_TYPE, self.metrics.exposition(), "metrics"), False
        if not self._model_request_started():
            return refusal(503, "the server is shutting down", kind="infer"), True
        try:
            if method == "GET":
                return Answer(200, "application/json", self.endpoint.metadata_json,
                              "metadata"), False
            return await self._infer(body), False
        finally:
            self._model_request_finished()

    async def _infer(self, body: bytes) -> Answer:
        """Decoding, checking and encoding here; the model on the batching queue's inference
        thread, awaited without holding a thread (one hand-over each way), or, for a lone
        client with nothing queued, right here (`BatchingModel.run_here`: no hand-over; the
        event loop waits for that one run). With the response cache, whose rows may be files,
        the whole answer is made on a thread of our pool."""
        submit = getattr(self.endpoint.model, "submit", None)
        if self.endpoint.cache is not None or submit is None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._model_threads, self.endpoint.answer, body)
        prepared = self.endpoint.prepare(body)
        if isinstance(prepared, Answer):
            return prepared
        try:
            run_here = getattr(self.endpoint.model, "run_here", None)
            outputs = run_here(prepared.feeds, prepared.output_names) if run_here else None
            if outputs is None:
                outputs = await asyncio.wrap_future(submit(prepared.feeds,
                                                           prepared.output_names))
        except Exception as error:  # whatever the runtime raises, the caller gets a 500
            return self.endpoint.failure(error)
        return self.endpoint.encoded(outputs)

    async def _read_body(self, headers: Headers, receive, *, required: bool) -> bytes | Answer | None:
        """The whole body, or the answer refusing it; None when the client went away. uvicorn
        has checked the framing (Content-Length or chunked)."""
        length = headers.get("content-length")
        if length is not None and not length.isdigit():  # uvicorn lets no such header through
            return refusal(400, "invalid Content-Length header")
        if length is not None and int(length) > self.max_body_bytes:
            return refusal(400, f"request body of {length} bytes is over the "
                                f"{self.max_body_bytes}-byte limit")
        if required and length is None and headers.get("transfer-encoding") is None:
            return refusal(411, "a POST needs a Content-Length header")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:  # a chunked body past the limit: the rest is dropped
                return refusal(400, f"request body is over the {self.max_body_bytes}-byte limit")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks) if len(chunks) != 1 else chunks[0]

    def _control(self, route: str, scope) -> Answer:
        if route in STATE_CHANGING:
            peer = (scope.get("client") or ("", 0))[0]
            reason = refusal_reason(peer, Headers(scope["headers"]), self.control_token)
            if reason is not None:
                return refusal(403, reason, kind="control")
        if route == IS_ALIVE or (route == IS_READY and self.ready):
            return Answer(200, "text/plain", b"ok", "control")
        if route == IS_READY:
            return refusal(503, "not ready", kind="control")
        if route == CLIENT_COUNT:
            return Answer(200, "text/plain", str(self.open_connections()).encode(), "control")
        if route == SHUTDOWN:
            return Answer(200, "text/plain", b"shutting down", "control")
        return refusal(404, f"no control path {route}; there are {IS_READY}, {IS_ALIVE}, "
                            f"{CLIENT_COUNT} and {SHUTDOWN}", kind="control", error="bad_request")

    def _model_request_started(self) -> bool:
        with self._counts:
            if self.draining.is_set():
                return False
            self._model_requests += 1
            return True

    def _model_request_finished(self) -> None:
        with self._counts:
            self._model_requests -= 1
            self._counts.notify_all()

    async def _send(self, send, answer: Answer, close: bool) -> None:
        headers = [SERVER_HEADER,
                   (b"content-type", answer.content_type.encode()),
                   (b"content-length", str(len(answer.body)).encode())]
        if answer.kind in ("infer", "metadata") and answer.status == 200:
            headers.append((METADATA_DIGEST_HEADER.lower().encode(),
                            self.endpoint.metadata_digest.encode()))
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})
