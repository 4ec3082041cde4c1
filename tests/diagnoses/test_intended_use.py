"""The intended-use gate on real DICOM headers (the shared samples and copies of one with the
view, the age, the body part or the modality changed), under both site policies, as the result
page, the API, the CSV and PDF exports and the callback show it; and PNGs with a declared view
and age."""

import csv
import io
import json

import pydicom
import pytest
from django.urls import reverse
from pypdf import PdfReader
from rest_framework.test import APIClient

from diagnoses import callbacks, exports, selectors, services
from diagnoses.api.tokens import api_token_create
from diagnoses.models import CallbackDelivery, Study
from tests.factories import study_diagnosed, study_uploaded, upload
from tests.shared import NEEDS_SAMPLES, SAMPLE_DICOMS

pytestmark = [NEEDS_SAMPLES, pytest.mark.django_db]

LATERAL = ("ViewPosition", "LL", "view LL is not frontal (PA or AP)")
CHILD = ("PatientAge", "012Y", "patient younger than 18")
ABDOMEN = ("BodyPartExamined", "ABDOMEN", "body part ABDOMEN is not the chest")
OUTSIDE = [LATERAL, CHILD, ABDOMEN]


def dicom_copy(**changes) -> bytes:
    """The first sample DICOM with header elements changed (None: removed)."""
    dataset = pydicom.dcmread(SAMPLE_DICOMS[0])
    for keyword, value in changes.items():
        if value is None:
            delattr(dataset, keyword)
        else:
            setattr(dataset, keyword, value)
    output = io.BytesIO()
    dataset.save_as(output)
    return output.getvalue()


def dicom_upload(**changes):
    return upload("copy.dcm", dicom_copy(**changes))


@pytest.fixture
def api(clinician, throttle_counts):
    client = APIClient()
    _, key = api_token_create(user=clinician, name="tests", days=1)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def csv_row(study) -> dict:
    output = exports.studies_csv(Study.objects.filter(pk=study.pk), response_or_file=io.StringIO())
    return list(csv.DictReader(io.StringIO(output.getvalue())))[0]


def pdf_text(as_clinician, study) -> str:
    response = as_clinician.get(reverse("study-report", args=[study.pk]))
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


@pytest.mark.parametrize("policy", ["warn", "refuse"])
@pytest.mark.parametrize("sample", SAMPLE_DICOMS, ids=lambda path: path.name[:12])
def test_the_sample_dicoms_are_within_the_intended_use(settings, clinician, sample, policy):
    settings.CHEXWEB_INTENDED_USE = policy
    study = study_uploaded(uploaded_by=clinician, image_file=upload(sample.name))
    assert (study.status, study.intended_use_reasons) == ("queued", [])
    assert study.intended_use_checked_from == "header"
    assert (study.body_part_examined, study.patient_age_years) == ("CHEST", 62)


@pytest.mark.parametrize("keyword, value, reason", OUTSIDE, ids=[c[0] for c in OUTSIDE])
def test_under_refuse_a_study_outside_ends_not_eligible_unread(
        settings, clinician, as_clinician, api, keyword, value, reason):
    settings.CHEXWEB_INTENDED_USE = "refuse"
    study = study_uploaded(uploaded_by=clinician, image_file=dicom_upload(**{keyword: value}))
    study.refresh_from_db()
    assert study.status == "not_eligible" and study.is_finished
    assert reason in study.failure_reason and study.finished_at is not None
    assert not study.predictions.exists()
    page = as_clinician.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert "Not eligible" in page and f"Outside intended use: {reason}" in page
    detail = api.get(reverse("api-study-detail", args=[study.pk])).json()
    assert detail["status"] == "not_eligible"
    assert detail["outside_intended_use"] == f"outside intended use: {reason}"
    assert detail["intended_use_reasons"] == [reason]
    assert csv_row(study)["intended use"] == f"outside intended use: {reason}"
    assert csv_row(study)["status"] == "not_eligible"
    assert f"Outside intended use: {reason}" in pdf_text(as_clinician, study)


@pytest.mark.parametrize("keyword, value, reason", OUTSIDE, ids=[c[0] for c in OUTSIDE])
def test_under_warn_a_study_outside_is_read_and_marked(
        settings, clinician, as_clinician, api, keyword, value, reason):
    settings.CHEXWEB_INTENDED_USE = "warn"
    study = study_uploaded(uploaded_by=clinician, image_file=dicom_upload(**{keyword: value}))
    assert study.status == "queued" and study.intended_use_reasons == [reason]
    page = as_clinician.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert f"Outside intended use: {reason}" in page and "Not eligible" not in page
    history = as_clinician.get(reverse("study-history")).content.decode()
    assert f'class="badge-warning intended-use">outside intended use: {reason}<' in history
    listed = api.get(reverse("api-study-list")).json()["results"]
    assert listed[0]["outside_intended_use"] == f"outside intended use: {reason}"
    assert csv_row(study)["intended use"] == f"outside intended use: {reason}"


def test_under_warn_the_read_result_carries_the_mark_everywhere(
        settings, clinician, as_clinician, api, model_server):
    """Read by the real model server: page, status JSON, API, PDF, CSV and callback."""
    settings.CHEXWEB_INTENDED_USE = "warn"
    mark = "outside intended use: view LL is not frontal (PA or AP); patient younger than 18"
    study = study_diagnosed(uploaded_by=clinician,
                            image_file=dicom_upload(ViewPosition="LL", PatientAge="012Y"))
    assert study.status == "done" and study.predictions.count() == 1
    page = as_clinician.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert mark[0].upper() + mark[1:] in page
    assert 'id="model-warning"' in page  # the model's own warning stays
    status = as_clinician.get(reverse("study-status", args=[study.pk])).json()
    assert status["outside_intended_use"] == mark and status["prediction"] is not None
    detail = api.get(reverse("api-study-detail", args=[study.pk])).json()
    assert detail["outside_intended_use"] == mark and len(detail["predictions"]) == 1
    assert mark[0].upper() + mark[1:] in pdf_text(as_clinician, study)
    assert csv_row(study)["intended use"] == mark
    delivery = CallbackDelivery.objects.create(study=study, url="https://receiver.example/")
    payload = callbacks.callback_payload(selectors.study_get(study_id=study.pk), delivery)
    assert payload["study"]["outside_intended_use"] == mark


def test_a_study_within_has_no_mark_anywhere(settings, clinician, as_clinician, api):
    settings.CHEXWEB_INTENDED_USE = "refuse"
    study = study_uploaded(uploaded_by=clinician, image_file=dicom_upload())
    page = as_clinician.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert "ntended use" not in page
    assert api.get(reverse("api-study-detail", args=[study.pk])).json()[
        "outside_intended_use"] == ""
    assert csv_row(study)["intended use"] == ""


@pytest.mark.parametrize("policy", ["warn", "refuse"])
def test_a_ct_is_refused_at_upload_under_either_policy(settings, as_clinician, api, policy):
    settings.CHEXWEB_INTENDED_USE = policy
    response = as_clinician.post(reverse("study-upload"),
                                 {"image": dicom_upload(Modality="CT")})
    assert response.status_code == 400
    assert "CT images are not chest radiographs" in response.content.decode()
    response = api.post(reverse("api-study-list"), {"file": dicom_upload(Modality="CT")},
                        format="multipart")
    assert response.status_code == 400 and "CT images" in json.dumps(response.json())
    assert not Study.objects.exists()


def test_the_age_comes_from_birth_and_study_dates_without_patient_age(settings, clinician):
    settings.CHEXWEB_INTENDED_USE = "refuse"
    study = study_uploaded(uploaded_by=clinician, image_file=dicom_upload(
        PatientAge=None, PatientBirthDate="20100301", StudyDate="20240228"))
    assert study.status == "not_eligible"
    assert study.intended_use_reasons == ["patient younger than 18"]


def test_a_dicom_without_view_position_is_outside(settings, clinician):
    study = study_uploaded(uploaded_by=clinician, image_file=dicom_upload(ViewPosition=None))
    assert study.intended_use_reasons == [
        "the header does not record a frontal view (no ViewPosition)"]


@pytest.mark.parametrize("policy", ["warn", "refuse"])
def test_a_png_declared_lateral_through_the_form(settings, as_clinician, policy):
    settings.CHEXWEB_INTENDED_USE = policy
    response = as_clinician.post(reverse("study-upload"), {
        "image": upload(), "view_position": "LL", "patient_age_years": "45"})
    study = Study.objects.get()
    assert response.status_code == 302
    assert study.status == ("not_eligible" if policy == "refuse" else "queued")
    assert study.intended_use_checked_from == "uploader"
    page = as_clinician.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert "Outside intended use: view LL is not frontal (PA or AP)" in page
    assert "were not checked from a DICOM header (a PNG has none): view LL as declared, age 45 " \
           "as declared" in page


def test_a_png_declared_a_child_through_the_api(settings, api):
    settings.CHEXWEB_INTENDED_USE = "refuse"
    response = api.post(reverse("api-study-list"), {
        "file": upload(), "view_position": "PA", "patient_age_years": 7}, format="multipart")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "not_eligible"
    assert body["outside_intended_use"] == "outside intended use: patient younger than 18"
    assert "not checked from a DICOM header" in body["intended_use_note"]


def test_a_png_without_declarations_is_read_and_says_nothing_was_checked(settings, api):
    settings.CHEXWEB_INTENDED_USE = "refuse"
    response = api.post(reverse("api-study-list"), {"file": upload()}, format="multipart")
    body = response.json()
    assert (body["status"], body["outside_intended_use"]) == ("queued", "")
    assert body["intended_use_note"] == ("View and age were not checked from a DICOM header (a "
                                         "PNG has none): view not given, age not given.")


def test_a_declared_age_out_of_range_is_refused(api):
    response = api.post(reverse("api-study-list"), {
        "file": upload(), "patient_age_years": 400}, format="multipart")
    assert response.status_code == 400
    assert not Study.objects.exists()


def test_a_study_accepted_under_warn_is_not_read_once_the_site_refuses(settings, clinician):
    settings.CHEXWEB_INTENDED_USE = "warn"
    study = study_uploaded(uploaded_by=clinician, image_file=dicom_upload(ViewPosition="LL"))
    settings.CHEXWEB_INTENDED_USE = "refuse"
    services.study_diagnose(study_id=study.pk)  # no model server: it must not be asked
    study.refresh_from_db()
    assert study.status == "not_eligible" and "view LL" in study.failure_reason
    assert not study.predictions.exists()


def test_a_not_eligible_study_re_run_under_warn_is_read(settings, clinician, model_server):
    settings.CHEXWEB_INTENDED_USE = "refuse"
    study = study_uploaded(uploaded_by=clinician, image_file=dicom_upload(ViewPosition="LL"))
    settings.CHEXWEB_INTENDED_USE = "warn"
    services.study_rerun(study=study)
    services.study_diagnose(study_id=study.pk)
    study.refresh_from_db()
    assert study.status == "done" and study.predictions.count() == 1
    assert study.intended_use_reasons == ["view LL is not frontal (PA or AP)"]


def test_a_replayed_submission_with_another_declared_age_is_refused(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "pacs-age-1"}
    first = api.post(reverse("api-study-list"), {"file": upload(), "patient_age_years": 40},
                     format="multipart", **headers)
    again = api.post(reverse("api-study-list"), {"file": upload(), "patient_age_years": 40},
                     format="multipart", **headers)
    other = api.post(reverse("api-study-list"), {"file": upload(), "patient_age_years": 12},
                     format="multipart", **headers)
    assert (first.status_code, again.status_code, other.status_code) == (202, 202, 422)
    assert "patient_age_years" in other.json()["error"]["message"]
