"""No patient data in any log line, whatever the product does with a study."""

import re
import time

import pydicom
import pytest
import requests

from tests.shared import SAMPLES

pytestmark = pytest.mark.system
SIIM = SAMPLES / "siim_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"
PATIENT_ID = "PHI-TEST-7731"
PATIENT_NAME = "Doe^Jane^Quincy"
ACCESSION = "ACC-PHI-5512"


def logged_in_session(stack) -> requests.Session:
    session = requests.Session()
    login = session.get(f"{stack.base_url}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    session.post(f"{stack.base_url}/accounts/login/", timeout=10,
                 data={"username": stack.username, "password": stack.password,
                       "csrfmiddlewaretoken": token},
                 headers={"Referer": f"{stack.base_url}/accounts/login/"})
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    session.headers["Referer"] = f"{stack.base_url}/"
    return session


@pytest.fixture
def dicom_with_known_patient(tmp_path):
    dataset = pydicom.dcmread(SIIM)
    dataset.PatientID = PATIENT_ID
    dataset.PatientName = PATIENT_NAME
    dataset.AccessionNumber = ACCESSION
    path = tmp_path / "study.dcm"
    dataset.save_as(path)
    return path


def test_no_log_line_carries_the_patient_id_name_or_accession(stack, dicom_with_known_patient):
    session = logged_in_session(stack)
    with open(dicom_with_known_patient, "rb") as image:
        answer = session.post(f"{stack.base_url}/studies/new/", files={"image": image},
                              headers={"Accept": "application/json"}, timeout=30).json()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        study = session.get(stack.base_url + answer["status_url"], timeout=10).json()
        if study["finished"]:
            break
        time.sleep(0.5)
    assert study["status"] == "done" and study["patient_id"] == PATIENT_ID
    # Everything a clinician does with it: result page, patient page, search, downloads.
    for path in (answer["url"], study["patient_url"], f"/studies/?search={PATIENT_ID}",
                 f"/studies/export.csv?search={ACCESSION}", answer["url"] + "report.pdf",
                 answer["url"] + "study.json", study["image_url"]):
        assert session.get(stack.base_url + path, timeout=30).status_code == 200, path
    session.post(stack.base_url + "/studies/new/", files={"image": ("bad.png", b"no image")},
                 data={"patient_id": PATIENT_ID}, timeout=10)

    for name, process in stack.processes.items():
        log = process.log()
        assert log.strip(), f"{name} wrote no log at all"
        for secret in (PATIENT_ID, "Doe", "Jane", ACCESSION):
            assert secret not in log, f"{name} log carries {secret!r}"
