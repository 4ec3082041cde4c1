"""A DICOM study's results as DICOM files and its deliveries: on the page, in the API, in the
admin; re-sending is audited."""

import pydicom
import pytest
from pydicom.filebase import DicomBytesIO
from rest_framework.test import APIClient

from diagnoses.api.tokens import api_token_create
from diagnoses.dicom.intake import dicom_instance_receive
from diagnoses.dicom.results import sr_probabilities
from diagnoses.models import AuditEvent, DicomDelivery, Study
from tests import factories
from inference.findings import FINDINGS
from tests.dicom.dicom_files import file_bytes, radiograph

pytestmark = pytest.mark.django_db


@pytest.fixture
def study():
    study = dicom_instance_receive(content=file_bytes(radiograph()),
                                   calling_ae_title="ORTHANC").study
    factories.prediction_add(study=study, model_version=factories.model_version_create(),
                             probabilities={"Effusion": 0.8})
    Study.objects.filter(pk=study.pk).update(status="done")
    return study


@pytest.fixture
def failed_delivery(study):
    return DicomDelivery.objects.create(study=study, protocol="dimse",
                                        destination="PACS@10.0.0.9:104", status="failed",
                                        attempts=6, last_error="Gave up after 6 attempts: down")


@pytest.fixture
def api(clinician, throttle_counts):
    client = APIClient()
    _, key = api_token_create(user=clinician, name="tests", days=1)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_the_page_offers_the_sr_and_key_image_and_shows_deliveries(as_clinician, study,
                                                                   failed_delivery):
    page = as_clinician.get(f"/studies/{study.pk}/").content.decode()
    assert f"/studies/{study.pk}/dicom/sr.dcm" in page and f"/studies/{study.pk}/dicom/sc.dcm" in page
    assert "PACS@10.0.0.9:104" in page and "Gave up after 6 attempts" in page
    response = as_clinician.get(f"/studies/{study.pk}/dicom/sr.dcm")
    assert response["Content-Type"] == "application/dicom"
    values = sr_probabilities(pydicom.dcmread(DicomBytesIO(response.content)))
    assert values["Effusion"] == (pytest.approx(0.8), True)
    assert AuditEvent.objects.filter(study=study, action="download", detail="DICOM sr").exists()


def test_a_resend_from_the_page_is_audited_and_starts_again(as_clinician, study,
                                                            failed_delivery):
    response = as_clinician.post(f"/studies/{study.pk}/dicom/deliveries/{failed_delivery.pk}/resend/")
    assert response.status_code == 302
    failed_delivery.refresh_from_db()
    assert (failed_delivery.status, failed_delivery.attempts) == ("pending", 0)
    assert AuditEvent.objects.filter(study=study, action="change", channel="web",
                                     detail__contains="re-sent to PACS@10.0.0.9:104").exists()


def test_the_api_gives_the_results_and_deliveries_and_re_sends(api, study, failed_delivery):
    key_image = api.get(f"/api/v1/studies/{study.pk}/dicom/sc")
    assert key_image.status_code == 200 and key_image["Content-Type"] == "application/dicom"
    assert pydicom.dcmread(DicomBytesIO(key_image.content)).Modality == "OT"
    deliveries = api.get(f"/api/v1/studies/{study.pk}/dicom/deliveries/").json()
    assert [(d["destination"], d["status"]) for d in deliveries] == [("PACS@10.0.0.9:104",
                                                                      "failed")]
    resent = api.post(f"/api/v1/studies/{study.pk}/dicom/deliveries/{failed_delivery.pk}/resend/")
    assert resent.status_code == 202 and resent.json()["status"] == "pending"
    assert AuditEvent.objects.filter(study=study, action="change", channel="api").exists()


def test_an_upload_has_no_dicom_results(api, clinician):
    study = factories.study_uploaded(uploaded_by=clinician)
    factories.prediction_add(study=study, model_version=factories.model_version_create())
    answer = api.get(f"/api/v1/studies/{study.pk}/dicom/sr")
    assert answer.status_code == 404 and "received as DICOM" in answer.json()["error"]["message"]
    assert api.get(f"/api/v1/studies/{study.pk}/dicom/xx").status_code == 404


def test_the_admin_shows_deliveries_and_re_sends(as_administrator, study, failed_delivery):
    page = as_administrator.get(f"/admin/diagnoses/study/{study.pk}/change/").content.decode()
    assert "PACS@10.0.0.9:104" in page
    as_administrator.post("/admin/diagnoses/study/", {
        "action": "resend_dicom_results", "_selected_action": [str(study.pk)]})
    failed_delivery.refresh_from_db()
    assert failed_delivery.status == "pending"
    assert AuditEvent.objects.filter(study=study, action="change", channel="admin").exists()


def test_the_fhir_report_has_an_observation_per_finding(api, study):
    from fhir.resources.R4B.diagnosticreport import DiagnosticReport

    answer = api.get(f"/api/v1/studies/{study.pk}/fhir/")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/fhir+json"
    report = answer.json()
    DiagnosticReport.model_validate(report)  # valid FHIR
    observations = {resource["code"]["coding"][0]["code"]: resource
                    for resource in report["contained"] if resource["resourceType"] == "Observation"}
    assert set(observations) == set(FINDINGS)
    assert len(report["result"]) == len(FINDINGS)
    effusion = observations["Effusion"]
    assert effusion["valueQuantity"]["value"] == pytest.approx(0.8)
    assert effusion["interpretation"][0]["coding"][0]["code"] == "POS"
    assert observations["Mass"]["interpretation"][0]["coding"][0]["code"] == "NEG"
    assert "not medical predictions" in effusion["note"][0]["text"]
    assert report["imagingStudy"][0]["identifier"]["value"] == \
        f"urn:oid:{study.study_instance_uid}"
    assert report["subject"]["identifier"]["value"] == study.patient_id
    assert AuditEvent.objects.filter(study=study, detail="FHIR report").exists()


def test_no_fhir_report_before_a_prediction(api, clinician):
    study = factories.study_stored(uploaded_by=clinician, status="queued")
    assert api.get(f"/api/v1/studies/{study.pk}/fhir/").status_code == 404
