"""A typed patient identifier differing from the DICOM header's is refused unless confirmed, and
the header's is kept and shown: form, page script and API."""

import pydicom
import pytest
from django.urls import reverse

from diagnoses.models import Study
from tests.api.conftest import client_for
from tests.factories import upload
from tests.shared import SAMPLES, skip_without

pytestmark = pytest.mark.django_db
SIIM = "siim_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"


@pytest.fixture
def header_patient_id():
    skip_without(SAMPLES / SIIM)
    return str(pydicom.dcmread(SAMPLES / SIIM, stop_before_pixels=True).PatientID)


def test_the_form_refuses_a_typed_patient_id_the_header_contradicts(as_clinician,
                                                                     header_patient_id):
    page = as_clinician.post(reverse("study-upload"),
                             {"image": upload(SIIM), "patient_id": "WRONG-PT"})
    assert page.status_code == 400
    text = page.content.decode()
    assert "differs from the DICOM header" in text and header_patient_id in text
    assert not Study.objects.exists()


def test_the_page_script_gets_the_refusal_as_json(as_clinician, header_patient_id):
    answer = as_clinician.post(reverse("study-upload"),
                               {"image": upload(SIIM), "patient_id": "WRONG-PT"},
                               HTTP_ACCEPT="application/json")
    assert answer.status_code == 400
    assert "differs from the DICOM header" in answer.json()["error"]["message"]
    assert list(answer.json()["error"]["fields"]) == ["patient_id"]


def test_a_confirmed_mismatch_is_stored_with_the_header_value_kept_and_shown(
        as_clinician, header_patient_id):
    response = as_clinician.post(reverse("study-upload"), {
        "image": upload(SIIM), "patient_id": "WRONG-PT", "confirm_patient_mismatch": "on"})
    study = Study.objects.get()
    assert response.status_code == 302
    assert (study.patient_id, study.header_patient_id) == ("WRONG-PT", header_patient_id)
    page = as_clinician.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert 'id="patient-mismatch"' in page and header_patient_id in page


@pytest.mark.parametrize("typed", ["", "same"])
def test_an_empty_or_matching_patient_id_needs_no_confirmation(as_clinician, header_patient_id,
                                                                typed):
    typed = header_patient_id if typed == "same" else typed
    as_clinician.post(reverse("study-upload"), {"image": upload(SIIM), "patient_id": typed})
    study = Study.objects.get()
    assert study.patient_id == study.header_patient_id == header_patient_id
    page = as_clinician.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert 'id="patient-mismatch"' not in page


def test_a_png_has_no_header_to_contradict(as_clinician):
    as_clinician.post(reverse("study-upload"), {"image": upload(), "patient_id": "TYPED"})
    assert Study.objects.get().patient_id == "TYPED"


def test_the_api_refuses_a_mismatch_unless_confirmed(clinician, header_patient_id, study_storage,
                                                     throttle_counts):
    api = client_for(clinician)
    refused = api.post("/api/v1/studies/", {"file": upload(SIIM), "patient_id": "WRONG-PT"},
                       format="multipart")
    assert refused.status_code == 400
    assert list(refused.json()["error"]["fields"]) == ["patient_id"]
    assert not Study.objects.exists()
    accepted = api.post("/api/v1/studies/", {"file": upload(SIIM), "patient_id": "WRONG-PT",
                                             "confirm_patient_mismatch": "true"},
                        format="multipart")
    assert accepted.status_code == 202
    body = accepted.json()
    assert (body["patient_id"], body["header_patient_id"]) == ("WRONG-PT", header_patient_id)
