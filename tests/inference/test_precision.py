"""Reduced precision: the agreement report against fp32, its tolerances, and real int8 / fp16
copies of a small CheXNet-shaped model made by ONNX Runtime's own tools."""

import json

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime
import pytest

from inference import precision
from inference.identity import onnx_model_identity
from inference.model.precision import agreement, reduced_model, run_rows
from tests.inference.conftest import METADATA, tiny_chexnet


def outputs(rows: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    probs = rng.uniform(0, 1, (rows, 14)).astype(np.float32)
    cams = rng.standard_normal((rows, 14, 7, 7)).astype(np.float32)
    return probs, cams


def report_of(probs, cams, reference_probs=None, reference_cams=None, images=8, kind="int8"):
    return precision.agreement_report(
        precision=kind, images=images, probs=probs, cams=cams,
        reference_probs=probs if reference_probs is None else reference_probs,
        reference_cams=cams if reference_cams is None else reference_cams)


def test_identical_outputs_agree_fully():
    probs, cams = outputs()
    report = report_of(probs, cams)
    assert report["max_probability_difference"] == 0 and report["flags_changed"] == 0
    assert report["min_cam_correlation"] == pytest.approx(1.0)
    assert report["flags_compared"] == 20 * 14 and report["rows"] == 20
    assert precision.agreement_problems("int8", report) == []


def test_the_report_measures_differences_flags_and_maps():
    probs, cams = outputs()
    probs[:, 0] = 0.49
    moved = probs.copy()
    moved[3, 0] = 0.52  # crosses 0.5: one flag changes, by 0.03
    moved[4, 1] = probs[4, 1] + 0.001 if probs[4, 1] < 0.999 else probs[4, 1] - 0.001
    inverted = cams.copy()
    inverted[2, 5] = -inverted[2, 5]

    report = report_of(moved, inverted, reference_probs=probs, reference_cams=cams)

    assert report["max_probability_difference"] == pytest.approx(0.03, abs=1e-6)
    assert report["mean_probability_difference"] == pytest.approx(0.031 / 280, abs=1e-6)
    assert report["flags_changed"] == 1
    assert report["min_cam_correlation"] == pytest.approx(-1.0)
    assert report["mean_cam_correlation"] == pytest.approx((279 - 1) / 280)


@pytest.mark.parametrize("change, message", [
    ({"max_probability_difference": 0.051}, "max |probability difference| 0.0510 > 0.05"),
    ({"mean_probability_difference": 0.02}, "mean |probability difference| 0.0200 > 0.01"),
    ({"flags_changed": 3}, "3 of 280 flags changed (> 1%)"),
    ({"min_cam_correlation": 0.9}, "lowest CAM correlation 0.900 < 0.95"),
    ({"images": 2}, "the report covers 2 images, fewer than 5"),
    ({"precision": "fp16"}, "the report is for fp16"),
])
def test_each_tolerance_broken_is_a_reason_to_refuse(change, message):
    probs, cams = outputs()
    report = report_of(probs, cams) | change
    assert precision.agreement_problems("int8", report) == [message]


def test_a_reduced_model_without_a_report_is_refused_and_fp32_needs_none():
    assert "needs the agreement report" in precision.agreement_problems("int8", None)[0]
    assert precision.agreement_problems("int8", {"precision": "int8"}) == [
        "the agreement report is incomplete"]
    assert "unknown precision" in precision.agreement_problems("int4", None)[0]
    assert precision.agreement_problems("fp32", None) == []


@pytest.fixture(scope="module")
def fp32_bytes() -> bytes:
    """The tiny CheXNet behind a 1x1 convolution that mixes the channels (int8 quantizes
    convolutions)."""
    model = tiny_chexnet()
    graph = model.graph
    for node in graph.node:
        node.input[:] = ["mixed" if name == "images" else name for name in node.input]
    weights = (np.eye(3) * 0.8 + 0.1).astype(np.float32).reshape(3, 3, 1, 1)
    graph.initializer.append(onnx.numpy_helper.from_array(weights, "mix"))
    graph.node.insert(0, onnx.helper.make_node("Conv", ["images", "mix"], ["mixed"]))
    onnx.checker.check_model(model, full_check=True)
    onnx.helper.set_model_props(model, METADATA)
    return model.SerializeToString()


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    """Images with structure, as X-rays have: a bright region in a different place in each,
    plus noise (on pure noise the 7x7 maps are nearly flat, and any rounding dominates them)."""
    rng = np.random.default_rng(2)
    y, x = np.mgrid[0:224, 0:224] / 224
    images = []
    for _ in range(20):
        cy, cx = rng.uniform(0.2, 0.8, 2)
        blob = np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 0.05) * 2 - 1
        images.append(blob[None] + 0.3 * rng.standard_normal((3, 224, 224)))
    return np.stack(images).astype(np.float32)


def test_int8_is_a_qdq_model_that_agrees_with_fp32(fp32_bytes, rows):
    int8 = reduced_model(fp32_bytes, "int8", rows)

    ops = {node.op_type for node in onnx.load_from_string(int8).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    report = agreement(fp32_bytes, int8, "int8", rows, images=5)
    assert report["max_probability_difference"] < 0.05
    assert report["min_cam_correlation"] > 0.95
    assert precision.agreement_problems("int8", report) == []


def test_fp16_keeps_float32_inputs_and_outputs(fp32_bytes, rows):
    fp16 = reduced_model(fp32_bytes, "fp16", rows)

    session = onnxruntime.InferenceSession(fp16, providers=["CPUExecutionProvider"])
    assert [arg.type for arg in session.get_inputs()] == ["tensor(float)"]
    probs, _ = run_rows(fp16, rows)
    reference, _ = run_rows(fp32_bytes, rows)
    assert np.abs(probs - reference).max() < 1e-2


def test_the_identity_carries_the_precision_and_report(fp32_bytes, tmp_path):
    report = {"precision": "int8", "images": 7}
    model = onnx.load_from_string(fp32_bytes)
    onnx.helper.set_model_props(model, METADATA | {"precision": "int8",
                                                   "agreement": json.dumps(report)})
    path = tmp_path / "int8.onnx"
    onnx.save(model, path)

    identity = onnx_model_identity(path)

    assert (identity.precision, identity.agreement) == ("int8", report)


def test_a_reduced_export_without_images_is_a_usage_error(tmp_path, capsys):
    from inference.model.export import main

    with pytest.raises(SystemExit) as exited:
        main(["--checkpoint", str(tmp_path / "none.pth.tar"), "--output",
              str(tmp_path / "out.onnx"), "--precision", "int8"])

    assert exited.value.code == 2
    assert "--precision int8 needs --images" in capsys.readouterr().err
    assert not (tmp_path / "out.onnx").exists()
