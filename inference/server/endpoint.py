"""What a GraphPipe model path answers, apart from HTTP: decode, validate, run the model, encode.

`ModelEndpoint.answer(body)` turns a request body into an `Answer` (status, content type, body,
and for metrics the kind of request and of error). Every mistake of the caller becomes a 400 with
a plain-text message saying what was wrong; a failure of the model itself becomes a 500. The
model is anything with `metadata` and `run(feeds, output_names)`: `OnnxModel`, or the
`BatchingModel` queue in front of it; an optional `ResponseCache` answers rows it has seen.

An infer request that names no outputs gets the model's default outputs: its first output only
(`default_outputs="first"`, what the official Python client's `execute(url, x)` expects to get
back as one array), or all of them in model order (`"all"`, graphpipe-onnx's behaviour).
"""

import json
import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from inference.server.batch_rows import splits_by_row
from inference.graphpipe.model_tag import metadata_digest
from inference.server.response_cache import ResponseCache
from inference.graphpipe.wire import (
    InferRequest,
    IOMetadata,
    ModelMetadata,
    WireError,
    decode_request,
    encode_infer_response,
    encode_metadata_response,
    type_for_dtype,
    type_name,
)

OCTET_STREAM = "application/octet-stream"
PLAIN_TEXT = "text/plain; charset=utf-8"

log = logging.getLogger(__name__)


class Model(Protocol):
    metadata: ModelMetadata

    def run(self, feeds: dict[str, np.ndarray], output_names: list[str]) -> list[np.ndarray]: ...


DEFAULT_OUTPUTS = ("first", "all")

# What an error answer was, for metrics: the kinds of `graphpipe_errors_total`.
BAD_REQUEST, FORBIDDEN, MODEL_FAILURE, INTERNAL, UNAVAILABLE = (
    "bad_request", "forbidden", "model_failure", "internal", "unavailable")
_ERROR_KINDS = {400: BAD_REQUEST, 403: FORBIDDEN, 411: BAD_REQUEST, 500: INTERNAL,
                503: UNAVAILABLE}


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    kind: str = ""  # infer, metadata, unreadable (set by the endpoint); the server fills others
    error: str = ""  # empty, or one of the error kinds above


def refusal(status: int, message: str, *, kind: str = "", error: str = "") -> Answer:
    """A plain-text error answer."""
    return Answer(status, PLAIN_TEXT, message.encode() + b"\n", kind,
                  error or _ERROR_KINDS.get(status, INTERNAL))


class BadRequest(ValueError):
    """The request does not fit the model; the message tells the caller what to fix."""


class ModelEndpoint:
    def __init__(self, model: Model, *, default_outputs: str = "first",
                 cache: ResponseCache | None = None):
        if default_outputs not in DEFAULT_OUTPUTS:
            raise ValueError(f"default_outputs must be one of {DEFAULT_OUTPUTS}")
        self.model = model
        self.metadata = model.metadata
        self.metadata_json = json.dumps(model.metadata.to_json()).encode()
        self._metadata_response = encode_metadata_response(model.metadata)
        # sent with every model answer (inference.graphpipe.model_tag): which model answered, so that a
        # client asks for the metadata again only when it changed
        self.metadata_digest = metadata_digest(self._metadata_response)
        outputs = [io.name for io in model.metadata.outputs]
        self.default_outputs = outputs[:1] if default_outputs == "first" else outputs
        self.cache = cache if cache is not None and splits_by_row(model.metadata) else None
        if cache is not None and self.cache is None:
            log.warning("no response cache: the model's inputs and outputs are not all batches")

    def answer(self, body: bytes) -> Answer:
        prepared = self.prepare(body)
        if isinstance(prepared, Answer):
            return prepared
        try:
            if self.cache is not None:
                outputs = self.cache.run(self.model, prepared.feeds, prepared.output_names,
                                         prepared.config)
            else:
                outputs = self.model.run(prepared.feeds, prepared.output_names)
        except Exception as error:  # whatever the runtime raises, the caller gets a 500
            return self.failure(error)
        return self.encoded(outputs)

    def prepare(self, body: bytes) -> "Answer | Prepared":
        """The checked model run a request asks for, or the answer that needs no model run."""
        try:
            request = decode_request(body)
        except WireError as error:
            return refusal(400, f"bad request body: {error}", kind="unreadable")
        if not isinstance(request, InferRequest):
            return Answer(200, OCTET_STREAM, self._metadata_response, "metadata")
        try:
            feeds = model_feeds(request, self.metadata.inputs)
            output_names = (requested_outputs(request, self.metadata.outputs)
                            or self.default_outputs)
        except BadRequest as error:
            return refusal(400, str(error), kind="infer")
        return Prepared(feeds, output_names, request.config)

    def encoded(self, outputs: list[np.ndarray]) -> Answer:
        try:
            response = encode_infer_response(outputs)
        except Exception as error:
            return self.failure(error)
        return Answer(200, OCTET_STREAM, response, "infer")

    def failure(self, error: Exception) -> Answer:
        log.error("the model failed", exc_info=error)
        return refusal(500, f"the model failed: {error}", kind="infer", error=MODEL_FAILURE)


@dataclass(frozen=True)
class Prepared:
    feeds: dict[str, np.ndarray]
    output_names: list[str]
    config: str


def model_feeds(request: InferRequest, inputs: list[IOMetadata]) -> dict[str, np.ndarray]:
    """The request's tensors by model input name, each checked against the model's input."""
    tensors = request.inputs
    if len(tensors) > len(inputs):
        raise BadRequest(f"the request carries {len(tensors)} input tensors but the model takes "
                         f"{len(inputs)} ({_listing(inputs)})")
    names = request.input_names or [io.name for io in inputs[:len(tensors)]]  # unnamed: in order
    if len(names) != len(tensors):
        raise BadRequest(f"the request names {len(names)} inputs but carries {len(tensors)} "
                         "tensors")
    by_name = {io.name: io for io in inputs}
    feeds = {}
    for name, tensor in zip(names, tensors, strict=True):
        if name not in by_name:
            raise BadRequest(f"unknown input {name!r}; the model's inputs are {_listing(inputs)}")
        if name in feeds:
            raise BadRequest(f"input {name!r} is given twice")
        _check_tensor(by_name[name], tensor)
        feeds[name] = tensor
    missing = [io.name for io in inputs if io.name not in feeds]
    if missing:
        raise BadRequest(f"missing input {', '.join(map(repr, missing))}; the model's inputs are "
                         f"{_listing(inputs)}")
    return feeds


def requested_outputs(request: InferRequest, outputs: list[IOMetadata]) -> list[str]:
    """The output names asked for, in their order (none: the caller takes the default ones)."""
    known = [io.name for io in outputs]
    for position, name in enumerate(request.output_names):
        if name not in known:
            raise BadRequest(f"unknown output {name!r}; the model's outputs are "
                             f"{_listing(outputs)}")
        if name in request.output_names[:position]:
            raise BadRequest(f"output {name!r} is asked for twice")
    return list(request.output_names)


def _check_tensor(io: IOMetadata, tensor: np.ndarray) -> None:
    got_type = type_for_dtype(tensor.dtype)
    if got_type != io.type:
        raise BadRequest(f"input {io.name!r} must be {type_name(io.type)}, got "
                         f"{type_name(got_type)}")
    shape = list(tensor.shape)
    if len(shape) != len(io.shape):
        raise BadRequest(f"input {io.name!r} must have {len(io.shape)} dimensions {io.shape} "
                         f"(-1: any size), got {len(shape)}: {shape}")
    if any(want not in (-1, got) for want, got in zip(io.shape, shape, strict=True)):
        raise BadRequest(f"input {io.name!r} must have shape {io.shape} (-1: any size), "
                         f"got {shape}")
    if tensor.size == 0:
        raise BadRequest(f"input {io.name!r} is empty: shape {shape}")


def _listing(ios: list[IOMetadata]) -> str:
    return ", ".join(repr(io.name) for io in ios) or "none"
