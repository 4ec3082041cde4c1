"""Reduced-precision copies of an exported fp32 model, and their agreement with it.

- int8: ONNX Runtime static quantization in the QDQ format, calibrated (MinMax) on the rows of
  the images given, of the convolutions (nearly all of DenseNet-121's arithmetic; batch norms,
  concatenations and the CAM head stay float); weights int8 per output channel with a 7-bit range
  (`reduce_range`: CPUs without VNNI multiply u8 x s8 pairs into 16 bits, which saturates with
  the full range), activations uint8.
- fp16: every float tensor in half precision, inputs and outputs kept float32 (for GPUs: the
  CUDA execution provider runs fp16 on tensor cores; on a CPU it is slower, not faster).

The agreement report (`inference.precision.agreement_report`) compares the reduced model with
the fp32 one on the same rows, both run by ONNX Runtime on the CPU.
"""

import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from PIL import Image

from inference.imaging.preprocessing import preprocess
from inference.precision import agreement_report

INPUT_NAME = "images"
OUTPUT_NAMES = ["probs", "cams"]
CALIBRATION_BATCH = 10
QUANTIZED_OPS = ["Conv"]


class _Rows(CalibrationDataReader):
    def __init__(self, rows: np.ndarray):
        self._batches = iter([rows[start:start + CALIBRATION_BATCH]
                              for start in range(0, len(rows), CALIBRATION_BATCH)])

    def get_next(self):
        batch = next(self._batches, None)
        return None if batch is None else {INPUT_NAME: batch}


def image_rows(paths: list[Path]) -> np.ndarray:
    """The TenCrop rows of each image, as the worker prepares a study: [10 x images, 3, 224, 224]."""
    rows = []
    for path in paths:
        with Image.open(path) as image:
            image.load()
            rows.append(preprocess(image, tencrop=True))
    return np.concatenate(rows)


def reduced_model(fp32: bytes, precision: str, rows: np.ndarray) -> bytes:
    if precision == "int8":
        return _int8(fp32, rows)
    if precision == "fp16":
        return _fp16(fp32)
    raise ValueError(f"no reduced precision {precision!r}")


def _int8(fp32: bytes, rows: np.ndarray) -> bytes:
    with tempfile.TemporaryDirectory() as scratch:
        source, target = Path(scratch) / "fp32.onnx", Path(scratch) / "int8.onnx"
        source.write_bytes(fp32)
        quantize_static(
            str(source), str(target), _Rows(rows), quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
            reduce_range=True, calibrate_method=CalibrationMethod.MinMax,
            op_types_to_quantize=QUANTIZED_OPS)
        return target.read_bytes()


def _fp16(fp32: bytes) -> bytes:
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load_from_string(fp32), keep_io_types=True)
    return model.SerializeToString()


def run_rows(model: bytes, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    outputs = [session.run(OUTPUT_NAMES, {INPUT_NAME: rows[start:start + CALIBRATION_BATCH]})
               for start in range(0, len(rows), CALIBRATION_BATCH)]
    return (np.concatenate([probs for probs, _ in outputs]),
            np.concatenate([cams for _, cams in outputs]))


def agreement(fp32: bytes, reduced: bytes, precision: str, rows: np.ndarray,
              images: int) -> dict:
    reference_probs, reference_cams = run_rows(fp32, rows)
    probs, cams = run_rows(reduced, rows)
    return agreement_report(precision=precision, images=images, reference_probs=reference_probs,
                            probs=probs, reference_cams=reference_cams, cams=cams)
