"""Hostile images through the web form and the API: a 4xx naming the problem in the channel's
own format, nothing stored; a form with good and bad files stores the good ones and names the
bad ones."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from diagnoses.api.tokens import api_token_create
from diagnoses.models import Study
from tests.security.corpus import SAMPLE_PNG
from tests.security.hostile_images import hostile_images, voi_lut_disagreeing_with_data

pytestmark = pytest.mark.django_db


def as_file(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, "application/octet-stream")


def stored_files(storage_root) -> list:
    return [path for path in storage_root.rglob("*") if path.is_file()]


@pytest.fixture
def api(clinician) -> APIClient:
    client = APIClient()
    _, key = api_token_create(user=clinician, name="hostile images", days=1)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.mark.parametrize("hostile", hostile_images(), ids=lambda hostile: hostile.name)
def test_the_web_form_names_the_problem_and_stores_nothing(as_clinician, study_storage, hostile):
    response = as_clinician.post(reverse("study-upload"), {"image": as_file(hostile.name,
                                                                          hostile.content)})
    assert response.status_code == 400
    assert hostile.refusal in response.content.decode()
    assert not Study.objects.exists() and stored_files(study_storage) == []


@pytest.mark.parametrize("hostile", hostile_images(), ids=lambda hostile: hostile.name)
def test_the_api_answers_its_error_format_with_the_fitting_status(api, study_storage, hostile):
    response = api.post("/api/v1/studies/", {"file": as_file(hostile.name, hostile.content)},
                        format="multipart")
    assert response.status_code == hostile.status
    error = response.json()["error"]
    assert hostile.refusal in error["message"] and list(error["fields"]) == ["file"]
    assert error["code"] == {413: "too_large", 415: "unsupported_format"}.get(hostile.status,
                                                                              "invalid")
    assert not Study.objects.exists() and stored_files(study_storage) == []


def test_a_voi_lut_disagreeing_with_its_data_is_accepted_with_the_data_range(api):
    response = api.post("/api/v1/studies/", {"file": as_file("voi.dcm",
                                                             voi_lut_disagreeing_with_data())},
                        format="multipart")
    assert response.status_code == 202
    assert Study.objects.get().resized_image.name


def test_a_form_with_good_and_bad_files_stores_the_good_and_names_the_bad(as_clinician,
                                                                          study_storage):
    bad = [h for h in hostile_images() if h.name in ("thin.jpg", "broken-data.png",
                                                     "unknown-vr.dcm")]
    files = [as_file("good.png", SAMPLE_PNG.read_bytes())]
    files += [as_file(h.name, h.content) for h in bad]

    response = as_clinician.post(reverse("study-upload"), {"image": files})

    assert response.status_code == 400
    page = response.content.decode()
    study = Study.objects.get()
    assert study.original_filename == "good.png" and study.resized_image.name
    assert reverse("study-detail", args=[study.pk]) in page
    for hostile in bad:
        assert f"{hostile.name}: " in page and hostile.refusal in page
    assert len(stored_files(study_storage)) == 2  # the good file and its resized copy


def test_the_page_script_gets_the_stored_and_the_refused_files(as_clinician, study_storage):
    thin = next(h for h in hostile_images() if h.name == "thin.jpg")
    files = [as_file("good.png", SAMPLE_PNG.read_bytes()), as_file(thin.name, thin.content)]

    response = as_clinician.post(reverse("study-upload"), {"image": files},
                              HTTP_ACCEPT="application/json")

    assert response.status_code == 400
    answer = response.json()
    assert "thin.jpg: image too thin" in answer["error"]["message"]
    assert [stored["file"] for stored in answer["stored"]] == ["good.png"]
    assert Study.objects.get().original_filename == "good.png"
