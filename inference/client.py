"""GraphPipe client: numpy arrays in, numpy arrays out, over one reused HTTP connection.

    with GraphPipeClient("http://127.0.0.1:9000") as client:
        probs, cams = client.infer(batch, output_names=["probs", "cams"])

Failures are `GraphPipeError`s that say whether trying again could help: `ServerUnavailable`
(unreachable, timed out, 503), `RequestRejected` (4xx: fix the request), `ServerFault` (5xx),
`BadResponse` (an answer that cannot be read). Returned arrays are read-only views of the
response body.
"""

import numpy as np
import requests

from inference.wire import (
    ModelMetadata,
    WireError,
    decode_infer_response,
    decode_metadata_response,
    encode_infer_request,
    encode_metadata_request,
)


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


class GraphPipeClient:
    def __init__(self, url: str, *, connect_timeout: float = 3.05, read_timeout: float = 60):
        self.url = url
        self.timeout = (connect_timeout, read_timeout)
        self._session = requests.Session()

    def infer(self, inputs: np.ndarray | list[np.ndarray], *,
              output_names: list[str] | None = None, input_names: list[str] | None = None,
              config: str = "") -> list[np.ndarray]:
        """The model's outputs for INPUTS: those named, in that order, or else all of them."""
        arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
        body = encode_infer_request(arrays, input_names=input_names, output_names=output_names,
                                    config=config)
        try:
            outputs = decode_infer_response(self._post(body))
        except WireError as error:
            raise BadResponse(f"unreadable InferResponse from {self.url}: {error}") from error
        if output_names and len(outputs) != len(output_names):
            raise BadResponse(f"{self.url} returned {len(outputs)} outputs for "
                              f"{len(output_names)} output names")
        return outputs

    def metadata(self) -> ModelMetadata:
        """The served model's metadata, asked for with a MetadataRequest."""
        try:
            return decode_metadata_response(self._post(encode_metadata_request()))
        except WireError as error:
            raise BadResponse(f"unreadable MetadataResponse from {self.url}: {error}") from error

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "GraphPipeClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _post(self, body: bytes) -> bytes:
        try:
            response = self._session.post(self.url, data=body, timeout=self.timeout,
                                          headers={"Content-Type": "application/octet-stream"})
        except (requests.ConnectionError, requests.Timeout) as error:
            raise ServerUnavailable(f"model server at {self.url} unavailable: {error}") from error
        except requests.RequestException as error:
            raise GraphPipeError(f"request to {self.url} failed: {error}") from error
        status, text = response.status_code, response.text.strip()
        if status == 503:
            raise ServerUnavailable(f"model server at {self.url} is not ready (503): {text}")
        if 400 <= status < 500:
            raise RequestRejected(f"model server refused the request ({status}): {text}")
        if status >= 500:
            raise ServerFault(f"model server failed ({status}): {text}")
        if status != 200:
            raise BadResponse(f"model server answered HTTP {status}")
        return response.content
