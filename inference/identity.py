"""Which model answered: read from a GraphPipe server's metadata.

Our own server puts the ONNX model's metadata (checkpoint sha256, whether the weights are the
verified published ones, ...) as JSON in the Description field. Any other conforming server may send
free text there; such a model is recorded by name and description and is never taken as verified.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from inference.graphpipe.wire import ModelMetadata
from inference.precision import metadata_precision


@dataclass(frozen=True)
class ModelIdentity:
    identity: str
    name: str
    checkpoint_sha256: str
    onnx_sha256: str
    weights_verified: bool
    description: str
    precision: str = "fp32"
    agreement: dict | None = None  # a reduced-precision model's report against fp32


def model_identity(metadata: ModelMetadata) -> ModelIdentity:
    try:
        facts = json.loads(metadata.description or "")
    except ValueError:
        facts = None
    if not isinstance(facts, dict):
        facts = {}
    onnx_sha256 = str(facts.get("onnx_sha256", ""))
    precision, agreement = metadata_precision(facts)
    identity = onnx_sha256 or hashlib.sha256(
        f"{metadata.name}\n{metadata.description}".encode()
    ).hexdigest()
    return ModelIdentity(
        identity=identity,
        name=metadata.name or "unnamed model",
        checkpoint_sha256=str(facts.get("checkpoint_sha256", "")),
        onnx_sha256=onnx_sha256,
        weights_verified=str(facts.get("weights_verified", "")).lower() == "true",
        description=metadata.description or "",
        precision=precision,
        agreement=agreement,
    )


def onnx_model_identity(path: str | Path) -> ModelIdentity:
    """The identity a GraphPipe server of ours reports for the ONNX file at `path`."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta()
    with open(path, "rb") as file:
        onnx_sha256 = hashlib.file_digest(file, "sha256").hexdigest()
    facts = dict(meta.custom_metadata_map) | {"onnx_sha256": onnx_sha256}
    return model_identity(
        ModelMetadata(
            name=facts.get("model_name") or Path(path).stem,
            version="",
            server="",
            description=json.dumps(facts, sort_keys=True),
            inputs=[],
            outputs=[],
        )
    )
