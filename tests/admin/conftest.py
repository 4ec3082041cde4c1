"""Users in real roles (groups, and is_staff as `assign_role` sets it) and studies with a
prediction built directly in the database, so most admin tests need no model server."""

import pytest
from django.core.files.base import ContentFile

from diagnoses.roles import user_role_assign
from diagnoses.model_server import model_server_client
from diagnoses.models import Finding, ModelVersion, Prediction, Review, Study
from inference.findings import FINDINGS
from tests.conftest import SAMPLES

SAMPLE = SAMPLES / "nih512_00027426_000.png"


@pytest.fixture(autouse=True)
def study_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": tmp_path / "media"}},
    }
    return tmp_path / "media"


def user_in_role(django_user_model, username: str, role: str):
    user = django_user_model.objects.create_user(username=username)  # force_login: no password
    user_role_assign(user=user, role=role)
    return user


@pytest.fixture
def clinician(django_user_model):
    return user_in_role(django_user_model, "dr.house", "clinician")


@pytest.fixture
def reviewer(django_user_model):
    return user_in_role(django_user_model, "dr.cuddy", "reviewer")


@pytest.fixture
def administrator(django_user_model):
    return user_in_role(django_user_model, "it.admin", "admin")


@pytest.fixture
def as_clinician(client, clinician):
    client.force_login(clinician)
    return client


@pytest.fixture
def as_reviewer(client, reviewer):
    client.force_login(reviewer)
    return client


@pytest.fixture
def as_administrator(client, administrator):
    client.force_login(administrator)
    return client


@pytest.fixture
def model_version(db):
    return ModelVersion.objects.create(identity="a" * 64, name="CheXNet stand-in")


@pytest.fixture
def make_study(clinician, model_version):
    """make_study(patient_id=..., probabilities={finding: p}, model_version=..., status=...)"""
    count = 0

    def make(*, patient_id: str = "", accession_number: str = "", status: str = "done",
             probabilities: dict[str, float] | None = None, model_version=model_version,
             predicted: bool = True) -> Study:
        nonlocal count
        count += 1
        study = Study(uploaded_by=clinician, image_sha256=f"{count:064x}", image_format="PNG",
                      patient_id=patient_id or f"P-{count}",
                      accession_number=accession_number or f"ACC-{count}", status=status)
        study.image.save(f"study-{count}.png", ContentFile(SAMPLE.read_bytes()), save=False)
        study.save()
        if predicted:
            prediction_add(study, model_version, probabilities or {})
        return study

    return make


def prediction_add(study: Study, model_version: ModelVersion,
                   probabilities: dict[str, float]) -> Prediction:
    threshold_set = model_version.current_thresholds()
    prediction = Prediction.objects.create(
        study=study, model_version=model_version, threshold_set=threshold_set,
        preprocessing="center", heatmaps=[[[(r * 7 + c) / 48 for c in range(7)] for r in range(7)] for _ in FINDINGS],
        preprocessing_ms=1.0, inference_ms=2.0,
    )
    for name in FINDINGS:
        probability = probabilities.get(name, 0.01)
        threshold = threshold_set.thresholds[name]
        Finding.objects.create(prediction=prediction, name=name, probability=probability,
                               threshold=threshold, flagged=probability >= threshold)
    return prediction


def signed_off(prediction: Prediction, reviewer) -> Review:
    from django.utils import timezone

    return Review.objects.create(prediction=prediction, reviewer=reviewer,
                                 signed_off_at=timezone.now())


@pytest.fixture
def model_server(settings, graphpipe_url):
    """This process's GraphPipe client pointed at the suite's real model server."""
    settings.GRAPHPIPE_URL = graphpipe_url
    model_server_client.cache_clear()
    yield graphpipe_url
    model_server_client.cache_clear()
