"""The GraphPipe wire format: numpy arrays and model metadata to and from flatbuffers (no HTTP).

A request body is a flatbuffer `Request`; a response body is a bare `InferResponse` or
`MetadataResponse` (schema: `inference/graphpipe/graphpipe.fbs`). Writing uses the flatc-generated builders;
reading goes through `inference.graphpipe.wire_reader`, which bounds-checks every offset so that a garbage
body becomes a `WireError` instead of an IndexError, a struct.error or a silent misread.

Decoded arrays are read-only views of the body where their data is aligned (no copy).
"""

import math
from dataclasses import dataclass, field

import flatbuffers
import numpy as np

from inference.graphpipe.generated import InferRequest as InferRequestTable
from inference.graphpipe.generated import InferResponse as InferResponseTable
from inference.graphpipe.generated import IOMetadata as IOMetadataTable
from inference.graphpipe.generated import MetadataRequest as MetadataRequestTable
from inference.graphpipe.generated import MetadataResponse as MetadataResponseTable
from inference.graphpipe.generated import Request as RequestTable
from inference.graphpipe.generated import Tensor as TensorTable
from inference.graphpipe.generated.Req import Req
from inference.graphpipe.generated.Type import Type
from inference.graphpipe.wire_reader import FlatBuffer, FlatTable, WireError

__all__ = [
    "WireError", "InferRequest", "MetadataRequest", "IOMetadata", "ModelMetadata",
    "encode_infer_request", "encode_metadata_request", "encode_infer_response",
    "encode_metadata_response", "decode_request", "decode_infer_response",
    "decode_metadata_response", "dtype_for_type", "type_for_dtype", "type_name",
]

DATA_ALIGNMENT = 16  # tensor data starts on this boundary, so decoding needs no copy
MAX_DIMENSIONS = 32  # numpy's own limit is 64


# --- types -------------------------------------------------------------------------------------

_DTYPES: dict[int, np.dtype] = {
    Type.Uint8: np.dtype("<u1"), Type.Int8: np.dtype("<i1"),
    Type.Uint16: np.dtype("<u2"), Type.Int16: np.dtype("<i2"),
    Type.Uint32: np.dtype("<u4"), Type.Int32: np.dtype("<i4"),
    Type.Uint64: np.dtype("<u8"), Type.Int64: np.dtype("<i8"),
    Type.Float16: np.dtype("<f2"), Type.Float32: np.dtype("<f4"), Type.Float64: np.dtype("<f8"),
}
_TYPES: dict[np.dtype, int] = {dtype.newbyteorder("="): type_ for type_, dtype in _DTYPES.items()}


def dtype_for_type(type_: int) -> np.dtype:
    """The little-endian numpy dtype of a GraphPipe Type; String and Null have none."""
    if type_ == Type.String:
        raise WireError("String tensors are not supported")
    if type_ not in _DTYPES:
        raise WireError(f"unknown tensor type {type_}")
    return _DTYPES[type_]


def type_for_dtype(dtype: np.dtype) -> int:
    """The GraphPipe Type of a numpy dtype (any byte order)."""
    try:
        return _TYPES[np.dtype(dtype).newbyteorder("=")]
    except KeyError:
        raise WireError(f"GraphPipe has no tensor type for numpy dtype {np.dtype(dtype)}") from None


def type_name(type_: int) -> str:
    """A readable name for a Type, for messages: 'float32', 'string', 'null'."""
    if type_ in _DTYPES:
        return _DTYPES[type_].name
    return {Type.Null: "null", Type.String: "string"}.get(type_, f"type {type_}")


# --- messages ----------------------------------------------------------------------------------

@dataclass
class InferRequest:
    inputs: list[np.ndarray]
    input_names: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    config: str = ""


@dataclass
class MetadataRequest:
    pass


@dataclass
class IOMetadata:
    name: str
    description: str = ""
    shape: list[int] = field(default_factory=list)  # -1: any size (the batch dimension)
    type: int = Type.Null

    def to_json(self) -> dict:
        return {"Name": self.name, "Description": self.description, "Shape": list(self.shape),
                "Type": self.type}


@dataclass
class ModelMetadata:
    name: str = ""
    version: str = ""
    server: str = ""
    description: str = ""
    inputs: list[IOMetadata] = field(default_factory=list)
    outputs: list[IOMetadata] = field(default_factory=list)

    def to_json(self) -> dict:
        """The metadata with the Go servers' JSON keys, as `GET /` answers it."""
        return {"Name": self.name, "Version": self.version, "Server": self.server,
                "Description": self.description,
                "Inputs": [io.to_json() for io in self.inputs],
                "Outputs": [io.to_json() for io in self.outputs]}


# --- encoding ----------------------------------------------------------------------------------

def encode_infer_request(inputs: list[np.ndarray], *, input_names: list[str] | None = None,
                         output_names: list[str] | None = None, config: str = "") -> bytes:
    arrays = [np.asarray(array) for array in inputs]
    builder = _builder_for(arrays)
    config_offset = builder.CreateString(config)
    names = _strings(builder, input_names or [])
    tensors = _offsets(builder, [_tensor(builder, array) for array in arrays])
    outputs = _strings(builder, output_names or [])
    InferRequestTable.Start(builder)
    InferRequestTable.AddConfig(builder, config_offset)
    InferRequestTable.AddInputNames(builder, names)
    InferRequestTable.AddInputTensors(builder, tensors)
    InferRequestTable.AddOutputNames(builder, outputs)
    return _request(builder, Req.InferRequest, InferRequestTable.End(builder))


def encode_metadata_request() -> bytes:
    builder = flatbuffers.Builder(64)
    MetadataRequestTable.Start(builder)
    return _request(builder, Req.MetadataRequest, MetadataRequestTable.End(builder))


def encode_infer_response(outputs: list[np.ndarray]) -> bytes:
    arrays = [np.asarray(array) for array in outputs]
    builder = _builder_for(arrays)
    tensors = _offsets(builder, [_tensor(builder, array) for array in arrays])
    InferResponseTable.Start(builder)
    InferResponseTable.AddOutputTensors(builder, tensors)
    return _finish(builder, InferResponseTable.End(builder))


def encode_metadata_response(metadata: ModelMetadata) -> bytes:
    builder = flatbuffers.Builder(1024)
    name, version, server, description = (builder.CreateString(text) for text in (
        metadata.name, metadata.version, metadata.server, metadata.description))
    inputs = _offsets(builder, [_io_metadata(builder, io) for io in metadata.inputs])
    outputs = _offsets(builder, [_io_metadata(builder, io) for io in metadata.outputs])
    MetadataResponseTable.Start(builder)
    MetadataResponseTable.AddName(builder, name)
    MetadataResponseTable.AddVersion(builder, version)
    MetadataResponseTable.AddServer(builder, server)
    MetadataResponseTable.AddDescription(builder, description)
    MetadataResponseTable.AddInputs(builder, inputs)
    MetadataResponseTable.AddOutputs(builder, outputs)
    return _finish(builder, MetadataResponseTable.End(builder))


def _builder_for(arrays: list[np.ndarray]) -> flatbuffers.Builder:
    """A builder big enough from the start: growing it would copy the tensors again."""
    return flatbuffers.Builder(sum(array.nbytes for array in arrays) + 1024 * (len(arrays) + 1))


def _tensor(builder: flatbuffers.Builder, array: np.ndarray) -> int:
    type_ = type_for_dtype(array.dtype)
    data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).reshape(-1)
    raw = data.view(np.uint8)
    builder.StartVector(1, raw.size, DATA_ALIGNMENT)
    builder.head -= raw.size
    builder.Bytes[builder.head:builder.head + raw.size] = memoryview(raw)
    data_offset = builder.EndVector()
    shape = _int64s(builder, array.shape)
    TensorTable.Start(builder)
    TensorTable.AddType(builder, type_)
    TensorTable.AddShape(builder, shape)
    TensorTable.AddData(builder, data_offset)
    return TensorTable.End(builder)


def _io_metadata(builder: flatbuffers.Builder, io: IOMetadata) -> int:
    name, description = builder.CreateString(io.name), builder.CreateString(io.description)
    shape = _int64s(builder, io.shape)
    IOMetadataTable.Start(builder)
    IOMetadataTable.AddName(builder, name)
    IOMetadataTable.AddDescription(builder, description)
    IOMetadataTable.AddShape(builder, shape)
    IOMetadataTable.AddType(builder, io.type)
    return IOMetadataTable.End(builder)


def _int64s(builder: flatbuffers.Builder, values) -> int:
    builder.StartVector(8, len(values), 8)
    for value in reversed(values):
        builder.PrependInt64(int(value))
    return builder.EndVector()


def _strings(builder: flatbuffers.Builder, texts: list[str]) -> int:
    return _offsets(builder, [builder.CreateString(text) for text in texts])


def _offsets(builder: flatbuffers.Builder, offsets: list[int]) -> int:
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def _request(builder: flatbuffers.Builder, req_type: int, req: int) -> bytes:
    RequestTable.Start(builder)
    RequestTable.AddReqType(builder, req_type)
    RequestTable.AddReq(builder, req)
    return _finish(builder, RequestTable.End(builder))


def _finish(builder: flatbuffers.Builder, root: int) -> bytes:
    builder.Finish(root)
    return bytes(memoryview(builder.Bytes)[builder.Head():])


# --- decoding ----------------------------------------------------------------------------------

def decode_request(body: bytes) -> InferRequest | MetadataRequest:
    """A `Request`; a MetadataRequest or a NONE union both mean 'send the metadata'."""
    request = FlatBuffer(body, "request").root()
    req_type = request.uint8(0)
    if req_type in (Req.NONE, Req.MetadataRequest):
        return MetadataRequest()
    if req_type != Req.InferRequest:
        raise WireError(f"unknown request type {req_type} (1: InferRequest, 2: MetadataRequest)")
    infer = request.table(1)
    if infer is None:
        raise WireError("the request says InferRequest but carries none")
    return InferRequest(
        config=infer.string(0),
        input_names=infer.strings(1),
        inputs=[_array(tensor) for tensor in infer.tables(2)],
        output_names=infer.strings(3),
    )


def decode_infer_response(body: bytes) -> list[np.ndarray]:
    response = FlatBuffer(body, "InferResponse").root()
    errors = [f"{error.int64(0)}: {error.string(1)}" for error in response.tables(1)]
    if errors:
        raise WireError("the response reports errors: " + "; ".join(errors))
    return [_array(tensor) for tensor in response.tables(0)]


def decode_metadata_response(body: bytes) -> ModelMetadata:
    response = FlatBuffer(body, "MetadataResponse").root()
    return ModelMetadata(
        name=response.string(0), version=response.string(1), server=response.string(2),
        description=response.string(3),
        inputs=[_io(table) for table in response.tables(4)],
        outputs=[_io(table) for table in response.tables(5)],
    )


def _array(tensor: FlatTable) -> np.ndarray:
    dtype = dtype_for_type(tensor.uint8(0))
    shape = [int(size) for size in tensor.vector(1, np.dtype("<i8"))]
    if len(shape) > MAX_DIMENSIONS:
        raise WireError(f"a tensor of {len(shape)} dimensions is more than the {MAX_DIMENSIONS} "
                        "allowed")
    if any(size < 0 for size in shape):
        raise WireError(f"tensor shape {shape} has a negative dimension")
    data = tensor.vector(2, np.dtype(np.uint8))
    expected = math.prod(shape) * dtype.itemsize
    if data.size != expected:
        raise WireError(f"a {dtype.name} tensor of shape {shape} needs {expected} bytes of data, "
                        f"got {data.size}")
    array = data.view(dtype).reshape(shape)
    return array if array.flags.aligned else array.copy()


def _io(table: FlatTable) -> IOMetadata:
    shape = [int(size) for size in table.vector(2, np.dtype("<i8"))]
    return IOMetadata(name=table.string(0), description=table.string(1), shape=shape,
                      type=table.uint8(3))
