"""`--value-inputs`: input types and shapes declared for a model, as graphpipe-onnx reads them.

The declaration is JSON `{"input name": [onnx element type, shape]}`, e.g.
`{"images": [1, [-1, 3, 224, 224]]}` (1 is ONNX's FLOAT), as in a caffe2 `value_info`. ONNX Runtime
already knows each input's type and rank, so here a declaration may only narrow what the model
says: fix a dimension the model leaves open (-1 keeps it open). A declaration that contradicts
the model is refused when the server starts, not at the first request.
"""

import json
from pathlib import Path

from inference.graphpipe.generated.Type import Type
from inference.graphpipe.wire import IOMetadata, type_name

# onnx.TensorProto.DataType numbers -> GraphPipe types
_ONNX_TYPES = {
    1: Type.Float32, 2: Type.Uint8, 3: Type.Int8, 4: Type.Uint16, 5: Type.Int16, 6: Type.Int32,
    7: Type.Int64, 8: Type.String, 10: Type.Float16, 11: Type.Float64, 12: Type.Uint32,
    13: Type.Uint64,
}


class ValueInputsError(ValueError):
    """The declaration is malformed or does not fit the model."""


def read_value_inputs(text: str) -> dict:
    """The declaration from a JSON file's path, or from the JSON itself (text starting with '{')."""
    try:
        source = text if text.lstrip().startswith("{") else Path(text).read_text()
    except OSError as error:
        raise ValueInputsError(f"cannot read the value inputs file: {error}") from None
    try:
        declaration = json.loads(source)
    except ValueError as error:
        raise ValueInputsError(f"value inputs are not valid JSON: {error}") from None
    if not isinstance(declaration, dict):
        raise ValueInputsError('value inputs must be a JSON object {"name": [type, shape]}')
    return declaration


def declared_inputs(inputs: list[IOMetadata], declaration: dict) -> list[IOMetadata]:
    """The model's inputs narrowed by the declaration."""
    by_name = {io.name: io for io in inputs}
    unknown = sorted(set(declaration) - set(by_name))
    if unknown:
        raise ValueInputsError(f"value inputs name {', '.join(map(repr, unknown))}, which the "
                               f"model does not take; its inputs are "
                               f"{', '.join(map(repr, by_name))}")
    return [_declared(io, declaration[io.name]) if io.name in declaration else io
            for io in inputs]


def _declared(io: IOMetadata, value) -> IOMetadata:
    if (not isinstance(value, list) or len(value) != 2 or not isinstance(value[1], list)
            or not all(type(size) is int and size >= -1 for size in value[1])):
        raise ValueInputsError(f"value input {io.name!r} must be [onnx element type, "
                               f"[dimension, ...]] with dimensions >= -1, got {value!r}")
    onnx_type, shape = value
    if _ONNX_TYPES.get(onnx_type) != io.type:
        raise ValueInputsError(f"value input {io.name!r} declares onnx element type "
                               f"{onnx_type!r}, but the model takes {type_name(io.type)}")
    if len(shape) != len(io.shape) or any(
            -1 not in (model, declared) and model != declared
            for model, declared in zip(io.shape, shape, strict=True)):
        raise ValueInputsError(f"value input {io.name!r} declares shape {shape}, which does not "
                               f"fit the model's {io.shape}")
    return IOMetadata(name=io.name, description=io.description, type=io.type,
                      shape=[model if declared == -1 else declared
                             for model, declared in zip(io.shape, shape, strict=True)])
