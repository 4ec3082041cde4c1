"""Every hostile upload gets a 4xx with a clear message and leaves nothing behind; odd but
valid images get a correct result."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from diagnoses.models import Study
from tests.factories import study_diagnosed
from tests.security.corpus import SAMPLE_PNG, odd_but_valid, refused
from tests.shared import skip_without

pytestmark = pytest.mark.django_db
skip_without(SAMPLE_PNG)  # read below, as the tests are collected


def as_file(upload) -> SimpleUploadedFile:
    return SimpleUploadedFile(upload.name, upload.content, "application/octet-stream")


def stored_files(storage_root) -> list:
    return [path for path in storage_root.rglob("*") if path.is_file()]


@pytest.mark.parametrize("upload", refused(), ids=lambda upload: upload.name)
def test_the_web_form_refuses_it_clearly_and_stores_nothing(as_clinician, study_storage, upload):
    response = as_clinician.post(reverse("study-upload"), {"image": as_file(upload)})
    assert response.status_code == 400
    assert upload.refusal in response.content.decode()
    assert not Study.objects.exists()
    assert stored_files(study_storage) == []


@pytest.mark.parametrize("upload", refused(), ids=lambda upload: upload.name)
def test_the_page_script_gets_the_same_refusal_as_json(as_clinician, study_storage, upload):
    response = as_clinician.post(reverse("study-upload"), {"image": as_file(upload)},
                                 HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert upload.refusal in response.json()["error"]["message"]
    assert not Study.objects.exists()


def test_a_file_over_the_size_limit_is_refused(as_clinician, settings, study_storage):
    settings.STUDY_MAX_UPLOAD_BYTES = 50_000
    upload = odd_but_valid()[0]
    response = as_clinician.post(reverse("study-upload"), {"image": as_file(upload)})
    assert response.status_code == 400 and "the limit is" in response.content.decode()
    assert not Study.objects.exists() and stored_files(study_storage) == []


def test_no_patient_data_in_a_refusal_message(as_clinician):
    no_pixels = next(upload for upload in refused() if upload.name == "no-pixels.dcm")
    response = as_clinician.post(reverse("study-upload"), {"image": as_file(no_pixels)})
    assert response.status_code == 400
    assert "NO-PIXELS-0001" not in response.content.decode()


@pytest.mark.parametrize("upload", odd_but_valid(), ids=lambda upload: upload.name)
def test_an_odd_but_valid_image_gets_a_result(clinician, model_server, upload):
    study = study_diagnosed(uploaded_by=clinician, image_file=as_file(upload))
    assert study.status == Study.Status.DONE, study.failure_reason
    assert study.predictions.get().findings.count() == 14


@pytest.mark.parametrize("upload", refused(), ids=lambda upload: upload.name)
def test_the_api_refuses_it_in_the_error_format_and_stores_nothing(clinician, study_storage,
                                                                   upload):
    from rest_framework.test import APIClient

    from diagnoses.api.tokens import api_token_create

    client = APIClient()
    _, key = api_token_create(user=clinician, name="hostile", days=1)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post("/api/v1/studies/", {"file": as_file(upload)}, format="multipart")
    assert 400 <= response.status_code < 500
    assert upload.refusal in response.json()["error"]["message"]
    assert not Study.objects.exists()
    assert stored_files(study_storage) == []
