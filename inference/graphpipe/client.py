"""GraphPipe client: numpy arrays in, numpy arrays out, over reused HTTP connections (urllib3:
requests' own transport, without requests' per-call work, about 0.8 ms of CPU per call here).

    with GraphPipeClient("http://model-a:9000,http://model-b:9000") as client:
        probs, cams = client.infer(batch, output_names=["probs", "cams"])

Several servers may be given (a list, or one comma-separated string as in `GRAPHPIPE_URLS`). A
call goes to the server that answered last; when a server is unreachable, times out or answers
503 (not ready, shutting down), the next one is tried, and after a round of all of them the
client waits a little and tries again, `attempts` rounds at most. Nothing else is retried: a 4xx
will not get better, and a 500 may have been a model run that should not be repeated.

`infer_by_model` also says which model computed the outputs: from the metadata kept from before
when the server names its model in its answer (ours does, see `inference.graphpipe.model_tag`), else asked
for after the answer. A client is for one thread at a time.

Failures are `GraphPipeError`s that say whether trying again later could help:
`ServerUnavailable` (unreachable, timed out, 503), `RequestRejected` (4xx: fix the request),
`ServerFault` (5xx), `BadResponse` (an answer that cannot be read, or outputs whose shape does
not match the request or the model's metadata). Each carries the server's own text. Returned
arrays are read-only views of the response body.
"""

import time

import numpy as np
import urllib3
from urllib3 import exceptions as transport

from inference.graphpipe.model_tag import METADATA_DIGEST_HEADER, metadata_digest
from inference.graphpipe.wire import (
    ModelMetadata,
    WireError,
    decode_infer_response,
    decode_metadata_response,
    encode_infer_request,
    encode_metadata_request,
)

DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF_S = 0.2  # doubled after each round of all the servers


class GraphPipeError(Exception):
    """Anything that kept the model server from answering usefully."""


class ServerUnavailable(GraphPipeError):
    """The server could not be reached, timed out or was not ready: worth trying again."""


class RequestRejected(GraphPipeError):
    """The server refused the request (4xx); the message is the server's own."""


class ServerFault(GraphPipeError):
    """The server failed while answering (5xx); the message is the server's own."""


class BadResponse(GraphPipeError):
    """The server answered something that is not the expected GraphPipe response."""


def server_urls(urls: str | list[str]) -> list[str]:
    """The URLs of a list or of a comma-separated string, blanks dropped."""
    parts = urls.split(",") if isinstance(urls, str) else list(urls)
    found = [url.strip() for url in parts if url.strip()]
    if not found:
        raise ValueError("no GraphPipe server URL given")
    return found


class GraphPipeClient:
    def __init__(self, urls: str | list[str], *, connect_timeout: float = 3.05,
                 read_timeout: float = 60, attempts: int = DEFAULT_ATTEMPTS,
                 backoff: float = DEFAULT_BACKOFF_S):
        self.urls = server_urls(urls)
        self.url = self.urls[0]  # the server that answered last (or will be asked first)
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._metadata: dict[str, ModelMetadata] = {}
        self._metadata_digests: dict[str, str] = {}  # of the metadata kept, per server
        self._answer_digest = ""  # the model named by the last answer's header, if any
        # One kept-alive connection per server, no retries of urllib3's own: `_post` decides.
        self._pool = urllib3.PoolManager(num_pools=len(self.urls), maxsize=1, retries=False,
                                         timeout=self.timeout)

    def infer(self, inputs: np.ndarray | list[np.ndarray], *,
              output_names: list[str] | None = None, input_names: list[str] | None = None,
              config: str = "") -> list[np.ndarray]:
        """The model's outputs for INPUTS: those named, in that order, or else its default ones
        (our server: the first output only)."""
        arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
        body = encode_infer_request(arrays, input_names=input_names, output_names=output_names,
                                    config=config)
        content = self._post(body)
        try:
            outputs = decode_infer_response(content)
        except WireError as error:
            raise BadResponse(f"unreadable InferResponse from {self.url}: {error}") from error
        if output_names and len(outputs) != len(output_names):
            raise BadResponse(f"{self.url} returned {len(outputs)} outputs for "
                              f"{len(output_names)} output names")
        if output_names and self.url in self._metadata:
            rows = arrays[0].shape[0] if arrays and arrays[0].ndim else None
            _check_shapes(self.url, self._metadata[self.url], output_names, outputs, rows)
        return outputs

    def infer_by_model(self, inputs: np.ndarray | list[np.ndarray], *,
                       output_names: list[str] | None = None,
                       input_names: list[str] | None = None,
                       config: str = "") -> tuple[list[np.ndarray], ModelMetadata]:
        """`infer`'s outputs, and the metadata of the model that computed them."""
        outputs = self.infer(inputs, output_names=output_names, input_names=input_names,
                             config=config)
        named, url = self._answer_digest, self.url
        if named and named == self._metadata_digests.get(url):
            return outputs, self._metadata[url]
        metadata = self.metadata()
        if named and (self.url, self._metadata_digests.get(self.url)) != (url, named):
            raise ServerUnavailable(f"the model at {url} changed while answering (a new model "
                                    "was deployed); ask again")
        return outputs, metadata

    def metadata(self) -> ModelMetadata:
        """The served model's metadata, asked for with a MetadataRequest. Kept per server, to
        check the shapes of later outputs against it and to name the model that answers."""
        content = self._post(encode_metadata_request())
        try:
            metadata = decode_metadata_response(content)
        except WireError as error:
            raise BadResponse(f"unreadable MetadataResponse from {self.url}: {error}") from error
        self._metadata[self.url] = metadata
        self._metadata_digests[self.url] = metadata_digest(content)
        return metadata

    def close(self) -> None:
        self._pool.clear()

    def __enter__(self) -> "GraphPipeClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _post(self, body: bytes) -> bytes:
        """The body of a 200 from the first server that gives one; retries as described above."""
        start = self.urls.index(self.url)
        order = self.urls[start:] + self.urls[:start]
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            for url in order:
                try:
                    response = self._post_once(url, body)
                except ServerUnavailable as error:
                    unavailable = error
                    continue
                self.url = url
                self._answer_digest = response.headers.get(METADATA_DIGEST_HEADER, "")
                return response.data
        if len(self.urls) > 1:
            raise ServerUnavailable(f"no model server available after {self.attempts} rounds "
                                    f"of {', '.join(self.urls)}; last: {unavailable}")
        raise unavailable

    def _post_once(self, url: str, body: bytes) -> urllib3.BaseHTTPResponse:
        try:
            response = self._pool.request("POST", url, body=body,
                                          headers={"Content-Type": "application/octet-stream"})
        except (transport.TimeoutError, transport.ProtocolError, OSError) as error:
            # refused, reset or timed out (a refused connection is a ConnectTimeoutError too)
            raise ServerUnavailable(f"model server at {url} unavailable: {error}") from error
        except (transport.HTTPError, ValueError) as error:  # a URL that cannot be asked, say
            raise GraphPipeError(f"request to {url} failed: {error}") from error
        status = response.status
        if status == 200:
            return response
        text = response.data.decode("utf-8", "replace").strip()
        if status == 503:
            raise ServerUnavailable(f"model server at {url} is not ready (503): {text}")
        self.url = url
        if 400 <= status < 500:
            raise RequestRejected(f"model server at {url} refused the request ({status}): "
                                  f"{text}")
        if status >= 500:
            raise ServerFault(f"model server at {url} failed ({status}): {text}")
        raise BadResponse(f"model server at {url} answered HTTP {status}")


def _check_shapes(url: str, metadata: ModelMetadata, names: list[str],
                  outputs: list[np.ndarray], rows: int | None) -> None:
    declared = {io.name: io.shape for io in metadata.outputs}
    for name, output in zip(names, outputs, strict=True):
        shape = declared.get(name)
        if shape is None:
            continue
        expected = [rows if index == 0 and size == -1 and rows is not None else size
                    for index, size in enumerate(shape)]
        if len(expected) != output.ndim or any(
                want not in (-1, got) for want, got in zip(expected, output.shape, strict=True)):
            raise BadResponse(f"{url} returned {name} of shape {list(output.shape)}, expected "
                              f"{expected} (-1: any size)")
