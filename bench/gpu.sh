#!/usr/bin/env bash
# The model server on a CUDA GPU (bench/gpu.py), from a fresh virtualenv with onnxruntime-gpu.
# Run from the repository root on a machine with an NVIDIA GPU, its driver and PyPI:
#     CHEXNET_ONNX=build/bench/chexnet-standin.onnx bash bench/gpu.sh
# The ONNX file is exported beforehand where torch is (python -m inference.model.export).
set -euo pipefail
model="${CHEXNET_ONNX:?set CHEXNET_ONNX to an exported .onnx}"
venv="${GPU_VENV:-/tmp/chexweb-gpu-venv}"
python3 -m venv "$venv"
grep -E '^(numpy|flatbuffers|prometheus-client|uvicorn|httptools|h11|click|requests)==' \
    requirements.txt > /tmp/chexweb-gpu-requirements.txt
"$venv/bin/pip" install -q -r /tmp/chexweb-gpu-requirements.txt -r requirements-model-server-gpu.txt
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
"$venv/bin/python" -c "import onnxruntime as o; print('onnxruntime', o.__version__, o.get_available_providers())"
exec "$venv/bin/python" -m bench.gpu --model "$model" "${@}"
