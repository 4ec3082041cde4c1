"""Model versions, their decision thresholds, and re-running a study on a new model version."""


import onnx
import pytest
from django.core.exceptions import ValidationError

from diagnoses import model_versions, services
from diagnoses.model_server import model_server_client
from diagnoses.models import Study
from inference.findings import FINDINGS
from inference.identity import onnx_model_identity
from tests.conftest import start_model_server
from tests.factories import model_version_create, study_diagnosed, study_uploaded

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def second_model_onnx(chexnet_onnx, tmp_path_factory):
    """The same network exported again under another name: another model version."""
    model = onnx.load(str(chexnet_onnx))
    for prop in model.metadata_props:
        if prop.key == "model_name":
            prop.value = "CheXNet DenseNet-121 (second build)"
    path = tmp_path_factory.mktemp("models") / "second.onnx"
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def second_graphpipe_url(second_model_onnx):
    server, url = start_model_server(second_model_onnx)
    yield url
    server.stop()


def all_at(value: float) -> dict[str, float]:
    return {name: value for name in FINDINGS}


def test_findings_at_or_above_their_threshold_are_flagged(clinician, model_server, chexnet_onnx):
    identity = onnx_model_identity(chexnet_onnx)
    model_versions.model_version_register(identity=identity, thresholds=all_at(0.0) | {"Hernia": 1.0})
    study = study_diagnosed(uploaded_by=clinician)
    findings = {f.name: f for f in study.predictions.get().findings.all()}
    assert all(findings[name].flagged for name in FINDINGS if name != "Hernia")
    assert not findings["Hernia"].flagged and findings["Hernia"].threshold == 1.0


def test_a_threshold_change_is_a_new_set_and_old_predictions_keep_theirs(clinician, model_server):
    first = study_diagnosed(uploaded_by=clinician).predictions.get()
    model_version = first.model_version
    model_versions.threshold_set_create(model_version=model_version, thresholds=all_at(0.0))
    second = study_diagnosed(uploaded_by=clinician).predictions.get()
    first.refresh_from_db()
    assert first.threshold_set != second.threshold_set
    assert first.threshold_set.thresholds == all_at(0.5)
    assert all(f.flagged for f in second.findings.all())
    assert [f.threshold for f in first.findings.all()] == [0.5] * 14


@pytest.mark.parametrize("thresholds, message", [
    (all_at(0.5) | {"Pneumonia": 1.5}, "from 0 to 1"),
    ({name: 0.5 for name in FINDINGS[:-1]}, "missing: Hernia"),
    (all_at(0.5) | {"Covid": 0.5}, "unknown: Covid"),
])
def test_bad_thresholds_are_refused(model_server, thresholds, message):
    model_version = model_version_create(identity="x", name="x")
    with pytest.raises(ValidationError, match=message):
        model_versions.threshold_set_create(model_version=model_version, thresholds=thresholds)
    assert not model_version.threshold_sets.exists()


def test_a_rerun_on_a_new_model_version_keeps_both_predictions(clinician, model_server, settings,
                                                               second_graphpipe_url):
    study = study_diagnosed(uploaded_by=clinician)
    services.study_rerun(study=study)
    settings.GRAPHPIPE_URL = second_graphpipe_url
    model_server_client.cache_clear()
    services.study_diagnose(study_id=study.pk)
    study.refresh_from_db()
    assert study.status == Study.Status.DONE
    predictions = list(study.predictions.all())
    assert len(predictions) == 2
    assert len({p.model_version_id for p in predictions}) == 2
    assert "CheXNet DenseNet-121 (second build)" in {p.model_version.name for p in predictions}


def test_a_rerun_on_the_same_model_version_adds_no_prediction(clinician, model_server):
    study = study_diagnosed(uploaded_by=clinician)
    services.study_rerun(study=study)
    services.study_diagnose(study_id=study.pk)
    assert study.predictions.count() == 1


def test_a_study_in_progress_cannot_be_rerun(clinician):
    study = study_uploaded(uploaded_by=clinician)
    with pytest.raises(ValidationError, match="finished or failed"):
        services.study_rerun(study=study)
