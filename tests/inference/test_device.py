"""`--device auto|cpu|cuda`: auto falls back to the CPU with a log line where ONNX Runtime has no
working CUDA execution provider (as here: the CPU build); cuda then refuses to start."""

import logging
import subprocess
import sys

import onnxruntime
import pytest

from inference.server.options import parse_args
from inference.server.runtime import DeviceError, OnnxModel, cuda_available
from tests.inference.conftest import start_server

pytestmark = pytest.mark.skipif(cuda_available(), reason="this ONNX Runtime has CUDA")


def test_auto_runs_on_the_cpu_and_says_why(tiny_onnx, caplog):
    with caplog.at_level(logging.WARNING, logger="inference.server.runtime"):
        model = OnnxModel(tiny_onnx, device="auto")

    assert model.device == "cpu"
    assert model.session.get_providers() == ["CPUExecutionProvider"]
    [record] = caplog.records
    assert "--device auto: running on the CPU" in record.message
    assert "no CUDA execution provider" in record.message


def test_cuda_without_a_gpu_build_is_refused(tiny_onnx):
    with pytest.raises(DeviceError, match="requirements-model-server-gpu.txt"):
        OnnxModel(tiny_onnx, device="cuda")


def test_the_flags(tiny_onnx):
    assert parse_args(["--model", "m.onnx"]).device == "auto"
    assert parse_args(["--model", "m.onnx", "--disable-cuda"]).device == "cpu"
    assert parse_args(["--model", "m.onnx", "--device", "cuda"]).device == "cuda"
    assert parse_args(["--model", "m.onnx"]).conv_algo_search == "heuristic"
    assert parse_args(["--model", "m.onnx", "--conv-algo-search", "exhaustive"]
                      ).conv_algo_search == "exhaustive"


def test_the_server_falls_back_with_a_log_line_and_serves(tiny_onnx):
    server, url = start_server(tiny_onnx, "--device", "auto")
    try:
        assert "--device auto: running on the CPU" in server.log()
        assert "serving tiny chexnet" in server.log() and ": CPU," in server.log()
    finally:
        server.stop()


def test_the_server_with_device_cuda_refuses_to_start(tiny_onnx):
    result = subprocess.run([sys.executable, "-m", "inference.server", "--model", str(tiny_onnx),
                             "--device", "cuda"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "has no CUDA execution provider" in result.stderr
    assert onnxruntime.get_device() in result.stderr
