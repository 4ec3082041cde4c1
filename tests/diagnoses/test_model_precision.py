"""Registering a reduced-precision model: refused unless its agreement report with fp32 is within
the tolerances (`inference.precision`); the version records its precision."""

import json
from io import StringIO
from pathlib import Path

import onnx
import pytest
from django.core.management import CommandError, call_command

from diagnoses.models import ModelVersion
from tests.inference.conftest import METADATA, tiny_chexnet

pytestmark = pytest.mark.django_db

GOOD_REPORT = {
    "precision": "int8", "images": 7, "rows": 70, "max_probability_difference": 0.012,
    "mean_probability_difference": 0.002, "flag_threshold": 0.5, "flags_changed": 1,
    "flags_compared": 980, "min_cam_correlation": 0.991, "mean_cam_correlation": 0.998,
}


def model_file(tmp_path: Path, name: str, **props: str) -> Path:
    model = tiny_chexnet()
    onnx.helper.set_model_props(model, METADATA | {"model_name": name} | props)
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    return path


def register(path: Path) -> str:
    out = StringIO()
    call_command("register_model_version", str(path), stdout=out)
    return out.getvalue()


def test_an_int8_model_within_the_tolerances_is_registered_as_int8(tmp_path):
    path = model_file(tmp_path, "int8 good", precision="int8", agreement=json.dumps(GOOD_REPORT))

    assert "Model version" in register(path)

    assert ModelVersion.objects.get().precision == "int8"


def test_an_fp32_model_needs_no_report(tmp_path):
    register(model_file(tmp_path, "plain"))
    assert ModelVersion.objects.get().precision == "fp32"


@pytest.mark.parametrize("props, message", [
    ({"agreement": json.dumps(GOOD_REPORT | {"max_probability_difference": 0.2})},
     "max |probability difference| 0.2000 > 0.05"),
    ({"agreement": json.dumps(GOOD_REPORT | {"flags_changed": 40})},
     "40 of 980 flags changed (> 1%)"),
    ({}, "needs the agreement report"),
    ({"agreement": "not json"}, "needs the agreement report"),
])
def test_an_int8_model_outside_the_tolerances_is_refused_and_nothing_stored(tmp_path, props,
                                                                            message):
    path = model_file(tmp_path, "int8 bad", precision="int8", **props)

    with pytest.raises(CommandError, match="This int8 model is refused") as refused:
        register(path)

    assert message in str(refused.value)
    assert not ModelVersion.objects.exists()
