"""Shadow model versions: a second real model server reads each study after the active one; its
readings are kept apart, compared on the admin's agreement page, and never shown to clinicians,
exported or sent. A shadow server that is down costs the shadow reading only."""

import csv
import io

import onnx
import pytest
from django.urls import reverse

from diagnoses import exports, model_versions, selectors, shadow
from diagnoses.models import AuditEvent, ModelVersion, ShadowPrediction, Study
from diagnoses.presenters import study_summary
from diagnoses.shadow_agreement import shadow_agreement
from inference.findings import FINDINGS
from tests.conftest import start_model_server
from tests.factories import prediction_add, study_diagnosed, study_stored, upload
from tests.processes import REPO, free_port

pytestmark = pytest.mark.django_db


def shadow_onnx_copy(onnx_path):
    """The stand-in with one more metadata entry: the same weights, another file (another
    sha256, so another model version)."""
    output = REPO / "build" / "test-models" / f"{onnx_path.stem}-shadow.onnx"
    if not output.exists():
        model = onnx.load(str(onnx_path))
        onnx.helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props},
                                            "model_name": "CheXNet stand-in (shadow copy)"})
        onnx.save(model, str(output))
    return output


@pytest.fixture(scope="session")
def shadow_graphpipe_url(chexnet_onnx):
    server, url = start_model_server(shadow_onnx_copy(chexnet_onnx))
    yield url
    server.stop()


@pytest.fixture
def versions(model_server, shadow_graphpipe_url):
    """The stand-in active at the suite's server, its copy in shadow at a second server."""
    active = model_versions.model_version_register_from_server(serving_url=model_server)
    model_versions.model_version_activate(model_version=active, user=None)
    candidate = model_versions.model_version_register_from_server(
        serving_url=shadow_graphpipe_url)
    model_versions.model_version_shadow(model_version=candidate, user=None)
    assert active.pk != candidate.pk
    return active, candidate


def test_a_study_is_read_by_the_shadow_version_and_clinicians_see_only_the_active_one(
        versions, clinician, as_clinician):
    active, candidate = versions
    study = study_diagnosed(uploaded_by=clinician, patient_id="P-SHADOW")
    reading = shadow.study_shadow_read(study_id=study.pk, model_version_id=candidate.pk)

    assert reading.model_version == candidate and set(reading.probabilities) == set(FINDINGS)
    assert selectors.study_latest_prediction(study=selectors.study_get(study_id=study.pk)
                                             ).model_version == active
    summary = study_summary(selectors.study_get(study_id=study.pk))
    assert summary["prediction"]["model"]["id"] == active.pk
    assert summary["predictions_count"] == 1
    page = as_clinician.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert "shadow copy" not in page and "predictions (other model versions" not in page
    exported = exports.studies_csv(Study.objects.all(), response_or_file=io.StringIO())
    row = list(csv.DictReader(io.StringIO(exported.getvalue())))[0]
    assert "shadow copy" not in row["model version"]


def test_a_shadow_reading_is_kept_once(versions, clinician):
    _, candidate = versions
    study = study_diagnosed(uploaded_by=clinician)
    first = shadow.study_shadow_read(study_id=study.pk, model_version_id=candidate.pk)
    again = shadow.study_shadow_read(study_id=study.pk, model_version_id=candidate.pk)
    assert first.pk == again.pk and ShadowPrediction.objects.count() == 1


def test_a_shadow_server_that_is_down_costs_only_the_shadow_reading(versions, clinician):
    _, candidate = versions
    ModelVersion.objects.filter(pk=candidate.pk).update(
        serving_url=f"http://127.0.0.1:{free_port()}")
    study = study_diagnosed(uploaded_by=clinician)
    assert shadow.study_shadow_read(study_id=study.pk, model_version_id=candidate.pk) is None
    study.refresh_from_db()
    assert study.status == "done" and study.predictions.count() == 1
    assert not ShadowPrediction.objects.exists()


def test_a_shadow_server_serving_another_model_is_not_kept(versions, clinician, model_server):
    _, candidate = versions
    ModelVersion.objects.filter(pk=candidate.pk).update(serving_url=model_server)
    study = study_diagnosed(uploaded_by=clinician)
    assert shadow.study_shadow_read(study_id=study.pk, model_version_id=candidate.pk) is None
    assert not ShadowPrediction.objects.exists()


def test_a_retired_version_reads_nothing(versions, clinician):
    _, candidate = versions
    model_versions.model_version_retire(model_version=candidate, user=None)
    study = study_diagnosed(uploaded_by=clinician)
    assert shadow.study_shadow_read(study_id=study.pk, model_version_id=candidate.pk) is None


def test_the_same_weights_agree_completely(versions, clinician):
    _, candidate = versions
    for name in ("nih_00000001_000.png", "nih_00000075_000.png"):
        study = study_diagnosed(uploaded_by=clinician, image_file=upload(name))
        shadow.study_shadow_read(study_id=study.pk, model_version_id=candidate.pk)
    agreement = shadow_agreement(model_version=candidate)
    assert agreement.studies == 2 and agreement.disagreeing_count == 0
    assert all(f.mean_abs_difference < 1e-5 and f.flags_agree == 2 for f in agreement.findings)


def shadow_reading(study, version, probabilities):
    thresholds = version.current_thresholds()
    values = {name: probabilities.get(name, 0.01) for name in FINDINGS}
    return ShadowPrediction.objects.create(
        study=study, model_version=version, threshold_set=thresholds, preprocessing="center",
        probabilities=values, inference_ms=1.0,
        flagged=[n for n, p in values.items() if p >= thresholds.thresholds[n]])


@pytest.fixture
def compared(clinician):
    """Four studies: Pneumothorax flagged clinically in 1 and 2, in shadow in 1 only."""
    active = ModelVersion.objects.create(identity="a" * 64, name="Active", state="active")
    candidate = ModelVersion.objects.create(identity="b" * 64, name="Candidate", state="shadow",
                                            serving_url="http://shadow.internal:9000")
    studies = []
    for clinical, in_shadow in ((0.9, 0.8), (0.7, 0.3), (0.1, 0.2), (0.2, 0.2)):
        study = study_stored(uploaded_by=clinician)
        prediction_add(study=study, model_version=active,
                       probabilities={"Pneumothorax": clinical})
        shadow_reading(study, candidate, {"Pneumothorax": in_shadow})
        studies.append(study)
    return active, candidate, studies


def test_agreement_per_finding_mean_difference_and_kappa(compared):
    _, candidate, studies = compared
    agreement = shadow_agreement(model_version=candidate)
    pneumothorax = next(f for f in agreement.findings if f.name == "Pneumothorax")
    assert agreement.studies == 4
    assert pneumothorax.mean_abs_difference == pytest.approx((0.1 + 0.4 + 0.1 + 0.0) / 4)
    # observed 3/4 equal; by chance (2/4)(1/4) + (2/4)(3/4) = 1/2: kappa = (3/4 - 1/2) / (1/2)
    assert pneumothorax.kappa == pytest.approx(0.5)
    atelectasis = next(f for f in agreement.findings if f.name == "Atelectasis")
    assert atelectasis.kappa is None and atelectasis.mean_abs_difference == 0
    assert [(d.study_id, d.clinical_only, d.shadow_only) for d in agreement.disagreeing] == [
        (studies[1].pk, ["Pneumothorax"], [])]


def test_the_agreement_page_shows_the_figures_and_promote_switches(compared, as_administrator):
    active, candidate, studies = compared
    url = reverse("admin:diagnoses_modelversion_agreement", args=[candidate.pk])
    page = as_administrator.get(url).content.decode()
    assert 'id="studies-compared">4<' in page and "0.1500" in page and "0.500" in page
    assert str(studies[1].pk) in page and str(studies[0].pk) not in page

    as_administrator.post(reverse("admin:diagnoses_modelversion_activate", args=[candidate.pk]))
    active.refresh_from_db()
    candidate.refresh_from_db()
    assert (active.state, candidate.state) == ("retired", "active")
    assert model_versions.active_model_version() == candidate
    event = AuditEvent.objects.get()
    assert f"promoted shadow model version {candidate.pk}" in event.detail
    assert f"retired {active.pk}" in event.detail


def test_reviewers_never_see_the_agreement_page(compared, as_reviewer):
    _, candidate, _ = compared
    url = reverse("admin:diagnoses_modelversion_agreement", args=[candidate.pk])
    assert as_reviewer.get(url).status_code == 403


def test_a_shadow_version_needs_its_own_server_and_the_active_one_cannot_be_shadowed(db):
    version = ModelVersion.objects.create(identity="c" * 64, name="No URL")
    with pytest.raises(Exception, match="serving URL of its own"):
        model_versions.model_version_shadow(model_version=version, user=None)
    active = ModelVersion.objects.create(identity="d" * 64, name="Active", state="active",
                                         serving_url="http://a:9000")
    with pytest.raises(Exception, match="cannot be put in shadow"):
        model_versions.model_version_shadow(model_version=active, user=None)
