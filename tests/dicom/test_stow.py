"""STOW-RS at /dicomweb/studies, from dicomweb-client (a DICOMweb client in wide use) against the
live web application: the standard answer, the listener's rules and study creation."""

import pytest
import requests
from dicomweb_client.api import DICOMwebClient

from diagnoses.api.tokens import api_token_create
from diagnoses.models import Study
from tests.dicom.dicom_files import file_bytes, radiograph, undecodable

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def token(clinician, throttle_counts):
    return api_token_create(user=clinician, name="router", days=1)[1]


@pytest.fixture
def stow(live_server, token):
    session = requests.Session()
    yield DICOMwebClient(url=f"{live_server.url}/dicomweb", session=session,
                         headers={"Authorization": f"Bearer {token}"})
    session.close()  # no kept-alive connection left to the live server's threads


def test_it_stores_instances_and_answers_which_failed_and_why(stow, clinician):
    good, again, ct = radiograph(), radiograph(), radiograph(modality="CT")
    answer = stow.store_instances([good, again, ct, undecodable(radiograph())])
    stored = [item.ReferencedSOPInstanceUID for item in answer.ReferencedSOPSequence]
    assert stored == [good.SOPInstanceUID, again.SOPInstanceUID]
    failed = {item.ReferencedSOPInstanceUID: item.FailureReason
              for item in answer.FailedSOPSequence}
    assert failed[ct.SOPInstanceUID] == 0xC000 and len(failed) == 2
    study = Study.objects.get(sop_instance_uid=good.SOPInstanceUID)
    assert (study.source, study.uploaded_by, study.calling_ae_title) == ("dicom", clinician, "")
    assert study.series_instance_uid == good.SeriesInstanceUID
    # sent again: the same study, no second one
    assert stow.store_instances([good]).ReferencedSOPSequence[0].ReferencedSOPInstanceUID == \
        good.SOPInstanceUID
    assert Study.objects.count() == 2


def test_none_stored_is_a_conflict_with_the_reasons(live_server, token):
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
            + file_bytes(radiograph(modality="CT")) + f"\r\n--{boundary}--\r\n".encode())
    answer = requests.post(f"{live_server.url}/dicomweb/studies", data=body, timeout=60, headers={
        "Authorization": f"Bearer {token}",
        "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}'})
    assert answer.status_code == 409
    assert answer.headers["Content-Type"] == "application/dicom+json"
    assert answer.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0xC000]


def test_it_wants_multipart_dicom_a_token_and_a_role(live_server, token, outsider):
    url = f"{live_server.url}/dicomweb/studies"
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.post(url, data=b"{}", timeout=30, headers={
        **auth, "Content-Type": "application/json"}).status_code == 415
    assert requests.post(url, data=b"", timeout=30, headers={
        "Content-Type": 'multipart/related; type="application/dicom"; boundary=x'}
    ).status_code == 401
    _, outsider_key = api_token_create(user=outsider, name="x", days=1)
    assert requests.post(url, data=b"", timeout=30, headers={
        "Authorization": f"Bearer {outsider_key}",
        "Content-Type": 'multipart/related; type="application/dicom"; boundary=x'}
    ).status_code == 403


def test_a_body_over_the_limit_is_refused_unread(live_server, token, settings):
    settings.STUDY_MAX_UPLOAD_BYTES = 1000
    answer = requests.post(f"{live_server.url}/dicomweb/studies", data=b"x" * 5000, timeout=30,
                           headers={"Authorization": f"Bearer {token}", "Content-Type":
                                    'multipart/related; type="application/dicom"; boundary=x'})
    assert answer.status_code == 413
    assert not Study.objects.exists()
