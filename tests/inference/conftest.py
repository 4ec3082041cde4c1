"""A tiny CheXNet-shaped ONNX model and a real GraphPipe server serving it (no torch needed), and
a recording stand-in model for the batching and cache tests.

The model takes `images` float32 [batch, 3, 224, 224] and returns `probs` [batch, 14] (sigmoid of
each image's mean plus a constant per finding) and `cams` [batch, 14, 7, 7] (the image averaged
over channels and 32x32 patches, plus the same constants).
"""

import json
import sys
import threading
import time
from pathlib import Path

import flatbuffers
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from inference.graphpipe.generated import InferRequest, Request, Tensor
from inference.graphpipe.generated.Type import Type
from inference.graphpipe.wire import IOMetadata, ModelMetadata
from tests.processes import Process, answers_http, free_port, wait_until

FINDINGS = 14
MAX_BODY_BYTES = 8 * 1024 * 1024  # the test server's cap: ten CheXNet rows fit
CLASS_BIASES = np.linspace(-2.0, 2.0, FINDINGS, dtype=np.float32)
METADATA = {
    "model_name": "tiny chexnet",
    "checkpoint_sha256": "0" * 64,
    "findings": json.dumps([f"finding {i}" for i in range(FINDINGS)]),
}


def expected_outputs(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the tiny model computes, in numpy."""
    means = images.astype(np.float64).mean(axis=(1, 2, 3))
    probs = 1 / (1 + np.exp(-(means[:, None] + CLASS_BIASES)))
    patches = images.astype(np.float64).mean(axis=1).reshape(len(images), 7, 32, 7, 32)
    cams = patches.mean(axis=(2, 4))[:, None, :, :] + CLASS_BIASES[None, :, None, None]
    return probs.astype(np.float32), cams.astype(np.float32)


def tiny_chexnet() -> onnx.ModelProto:
    nodes = [
        helper.make_node("ReduceMean", ["images", "image_axes"], ["means"], keepdims=0),
        helper.make_node("Unsqueeze", ["means", "last_axis"], ["column"]),
        helper.make_node("Add", ["column", "biases"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["probs"]),
        helper.make_node("AveragePool", ["images"], ["pooled"], kernel_shape=[32, 32],
                         strides=[32, 32]),
        helper.make_node("ReduceMean", ["pooled", "channel_axis"], ["grey"], keepdims=1),
        helper.make_node("Add", ["grey", "map_biases"], ["cams"]),
    ]
    constants = [
        helper.make_tensor("image_axes", TensorProto.INT64, [3], [1, 2, 3]),
        helper.make_tensor("last_axis", TensorProto.INT64, [1], [1]),
        helper.make_tensor("channel_axis", TensorProto.INT64, [1], [1]),
        helper.make_tensor("biases", TensorProto.FLOAT, [FINDINGS], CLASS_BIASES.tolist()),
        helper.make_tensor("map_biases", TensorProto.FLOAT, [1, FINDINGS, 1, 1],
                           CLASS_BIASES.tolist()),
    ]
    graph = helper.make_graph(
        nodes, "tiny_chexnet",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 224, 224])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", FINDINGS]),
         helper.make_tensor_value_info("cams", TensorProto.FLOAT, ["batch", FINDINGS, 7, 7])],
        initializer=constants,
    )
    return _finished(graph)


def fragile_model() -> onnx.ModelProto:
    """Input `x` float32 [batch, 4]; reshaping to [4] makes any batch but 1 fail at run time."""
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "flat"], ["y"])], "fragile",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        initializer=[helper.make_tensor("flat", TensorProto.INT64, [1], [4])],
    )
    return _finished(graph)


def _finished(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory) -> Path:
    model = tiny_chexnet()
    helper.set_model_props(model, METADATA)
    path = tmp_path_factory.mktemp("models") / "tiny-chexnet.onnx"
    onnx.save(model, path)
    return path


@pytest.fixture(scope="session")
def fragile_onnx(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "fragile.onnx"
    onnx.save(fragile_model(), path)
    return path


def start_server(model: Path, *extra_args: str) -> tuple[Process, str]:
    listen = f"127.0.0.1:{free_port()}"
    server = Process("graphpipe-test", [sys.executable, "-m", "inference.server", "--model",
                                        str(model), "--listen", listen, *extra_args], env={})
    url = f"http://{listen}"
    wait_until(answers_http(f"{url}/control/is_ready"), timeout=60, what="GraphPipe server",
               process=server)
    return server, url


@pytest.fixture(scope="session")
def tiny_server(tiny_onnx) -> Process:
    server, url = start_server(tiny_onnx, "--max-body-bytes", str(MAX_BODY_BYTES),
                               "--threads", "1")
    server.url = url
    yield server
    server.stop()


@pytest.fixture(scope="session")
def server_url(tiny_server) -> str:
    return tiny_server.url


@pytest.fixture(scope="session")
def fragile_server(fragile_onnx) -> str:
    """A server whose model fails at run time for any batch but 1 (for 500 answers)."""
    server, url = start_server(fragile_onnx)
    yield url
    server.stop()


@pytest.fixture
def image_batch() -> np.ndarray:
    """Three random preprocessed-looking images."""
    return np.random.default_rng(0).standard_normal((3, 3, 224, 224), dtype=np.float32)


def raw_request(type_: int, shape: list[int], data: bytes, *, union_type: int = 1) -> bytes:
    """An InferRequest whose one tensor is written as given, however wrong (for error tests)."""
    builder = flatbuffers.Builder(1024)
    data_offset = builder.CreateByteVector(data)
    Tensor.StartShapeVector(builder, len(shape))
    for size in reversed(shape):
        builder.PrependInt64(size)
    shape_offset = builder.EndVector()
    Tensor.Start(builder)
    Tensor.AddType(builder, type_)
    Tensor.AddShape(builder, shape_offset)
    Tensor.AddData(builder, data_offset)
    tensor = Tensor.End(builder)
    InferRequest.StartInputTensorsVector(builder, 1)
    builder.PrependUOffsetTRelative(tensor)
    tensors = builder.EndVector()
    InferRequest.Start(builder)
    InferRequest.AddInputTensors(builder, tensors)
    infer = InferRequest.End(builder)
    Request.Start(builder)
    Request.AddReqType(builder, union_type)
    Request.AddReq(builder, infer)
    builder.Finish(Request.End(builder))
    return bytes(builder.Output())


class RecordingModel:
    """Doubles each row; records the rows of every run; fails any run holding a NaN row."""

    metadata = ModelMetadata(
        inputs=[IOMetadata("x", shape=[-1, 2], type=Type.Float32)],
        outputs=[IOMetadata("double", shape=[-1, 2], type=Type.Float32),
                 IOMetadata("total", shape=[-1], type=Type.Float32)])

    def __init__(self, delay_s: float = 0.0):
        self.delay_s = delay_s
        self.runs: list[int] = []
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.gate.set()

    def run(self, feeds, output_names):
        self.entered.set()
        self.gate.wait(10)
        x = feeds["x"]
        self.runs.append(len(x))
        time.sleep(self.delay_s)
        if np.isnan(x).any():
            raise ValueError("a NaN row")
        outputs = {"double": x * 2, "total": x.sum(axis=1)}
        return [outputs[name] for name in output_names]


def metric_line(text: str, name: str) -> str:
    [line] = [line for line in text.splitlines() if line.startswith(name + " ")]
    return line.split()[-1]
