"""An ONNX model loaded into ONNX Runtime, described in GraphPipe's terms.

`OnnxModel` knows its inputs and outputs as GraphPipe IOMetadata (a symbolic dimension such as the
batch is -1; inputs narrowed by `--value-inputs` where given), the model's own metadata
properties, the sha256 of the .onnx file, and the ModelMetadata the server hands out. Its
Description is JSON: the model's metadata properties plus `onnx_sha256`, which the app reads to
know which model answered.
"""

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
import onnxruntime

from inference.graphpipe.generated.Type import Type
from inference.server.value_inputs import declared_inputs
from inference.graphpipe.wire import IOMetadata, ModelMetadata, WireError, dtype_for_type

SERVER_NAME = "chexweb-graphpipe"
DEVICES = ("auto", "cpu", "cuda")
CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"
# How the CUDA execution provider picks each convolution's cuDNN algorithm. ONNX Runtime's own
# default, exhaustive, benchmarks every algorithm for every new input shape, and a batching
# server sends a new shape for each batch size; heuristic asks cuDNN's heuristics instead.
CONV_ALGO_SEARCHES = ("heuristic", "exhaustive", "default")

log = logging.getLogger(__name__)


class DeviceError(RuntimeError):
    """`--device cuda` where ONNX Runtime has no working CUDA execution provider."""
SERVER_VERSION = "1.0.0"

_ELEMENT_TYPES = {
    "tensor(uint8)": Type.Uint8, "tensor(int8)": Type.Int8,
    "tensor(uint16)": Type.Uint16, "tensor(int16)": Type.Int16,
    "tensor(uint32)": Type.Uint32, "tensor(int32)": Type.Int32,
    "tensor(uint64)": Type.Uint64, "tensor(int64)": Type.Int64,
    "tensor(float16)": Type.Float16, "tensor(float)": Type.Float32,
    "tensor(double)": Type.Float64, "tensor(string)": Type.String,
}


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and taskset narrow),
    not the machine's count that ONNX Runtime would otherwise size its thread pool by."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def session_options(intra_op_threads: int | None = None, *,
                    spinning: bool = False) -> onnxruntime.SessionOptions:
    """The server's ONNX Runtime settings: intra-op threads = the cores this process may use,
    one inter-op thread, and by default no spinning: spinning threads burn the CPU between
    requests, which slows the web server and the worker sharing the machine's few cores."""
    options = onnxruntime.SessionOptions()
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = intra_op_threads or available_cores()
    return options


def cuda_available() -> bool:
    return CUDA in onnxruntime.get_available_providers()


class OnnxModel:
    """One ONNX Runtime session on the CPU or a CUDA GPU (`device`: cpu, cuda, or auto: the GPU
    when ONNX Runtime has one that works, else the CPU with a log line saying why); `run` may be
    called from several threads at once."""

    def __init__(self, path: str | Path, *, intra_op_threads: int | None = None,
                 value_inputs: dict | None = None, device: str = "cpu",
                 spinning: bool = False, conv_algo_search: str = "heuristic"):
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}")
        if conv_algo_search not in CONV_ALGO_SEARCHES:
            raise ValueError(f"conv_algo_search must be one of {CONV_ALGO_SEARCHES}")
        self.path = Path(path)
        self._cuda = (CUDA, {"cudnn_conv_algo_search": conv_algo_search.upper()})
        options = session_options(intra_op_threads, spinning=spinning)
        self.session = self._session(options, device)
        self.device = "cuda" if CUDA in self.session.get_providers() else "cpu"
        self.inputs = [_io_metadata(arg) for arg in self.session.get_inputs()]
        if value_inputs:
            self.inputs = declared_inputs(self.inputs, value_inputs)
        self.outputs = [_io_metadata(arg) for arg in self.session.get_outputs()]
        self.custom_metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        with open(self.path, "rb") as file:
            self.sha256 = hashlib.file_digest(file, "sha256").hexdigest()
        self.metadata = ModelMetadata(
            name=self.custom_metadata.get("model_name") or self.path.stem,
            version=SERVER_VERSION,
            server=SERVER_NAME,
            description=json.dumps({**self.custom_metadata, "onnx_sha256": self.sha256},
                                   sort_keys=True),
            inputs=self.inputs,
            outputs=self.outputs,
        )

    def _session(self, options: onnxruntime.SessionOptions,
                 device: str) -> onnxruntime.InferenceSession:
        if device == "cpu":
            return onnxruntime.InferenceSession(str(self.path), options, providers=[CPU])
        if not cuda_available():
            reason = (f"this ONNX Runtime ({onnxruntime.get_device()} build, providers "
                      f"{', '.join(onnxruntime.get_available_providers())}) has no CUDA "
                      "execution provider; install requirements-model-server-gpu.txt")
            if device == "cuda":
                raise DeviceError(reason)
            log.warning("--device auto: running on the CPU: %s", reason)
            return onnxruntime.InferenceSession(str(self.path), options, providers=[CPU])
        try:
            session = onnxruntime.InferenceSession(str(self.path), options,
                                                   providers=[self._cuda, CPU])
        except Exception as error:  # e.g. no driver or no GPU: the provider cannot start
            if device == "cuda":
                raise DeviceError(f"the CUDA execution provider failed: {error}") from error
            log.warning("--device auto: running on the CPU: the CUDA execution provider "
                        "failed: %s", error)
            return onnxruntime.InferenceSession(str(self.path), options, providers=[CPU])
        if CUDA not in session.get_providers():  # ONNX Runtime fell back by itself
            if device == "cuda":
                raise DeviceError("ONNX Runtime could not start the CUDA execution provider "
                                  "(see its log above)")
            log.warning("--device auto: running on the CPU: ONNX Runtime could not start the "
                        "CUDA execution provider")
        return session

    def describe_device(self) -> str:
        if self.device == "cuda":
            return "CUDA GPU (ONNX Runtime CUDA execution provider)"
        return "CPU"

    def run(self, feeds: dict[str, np.ndarray], output_names: list[str]) -> list[np.ndarray]:
        return self.session.run(output_names, feeds)

    def warm_up(self, max_batch: int) -> list[int]:
        """Run every batch size from 1 to MAX_BATCH once on zeros, so that what the execution
        provider does on the first run of a shape (on a GPU: choosing the convolution
        algorithms, growing its memory arena) happens before the first request, not inside a
        clinician's. The batch sizes run; none where an input has another symbolic dimension."""
        if any(size < 0 for io in self.inputs for size in io.shape[1:]):
            return []
        try:
            dtypes = {io.name: dtype_for_type(io.type) for io in self.inputs}
        except WireError:  # a string or unknown input type: nothing to make zeros of
            return []
        sizes = list(range(1, max_batch + 1))
        for rows in sizes:
            self.session.run(None, {io.name: np.zeros((rows, *io.shape[1:]), dtypes[io.name])
                                    for io in self.inputs})
        return sizes


def _io_metadata(arg: onnxruntime.NodeArg) -> IOMetadata:
    shape = [size if isinstance(size, int) and size >= 0 else -1 for size in arg.shape]
    return IOMetadata(name=arg.name, shape=shape, type=_ELEMENT_TYPES.get(arg.type, Type.Null))
