"""A large DICOM over a slow link: the upload takes longer than the old 30 s worker timeout and
succeeds, while other users' pages keep answering within a second.

The slow link is a small TCP proxy (tests/slow_link.py) that passes the client's bytes on at a fixed
rate (the server's answers unpaced), as hospital Wi-Fi would.
"""

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian

from tests.shared import SAMPLES
from tests.slow_link import ThrottlingProxy
from tests.system.test_patient_data import logged_in_session

pytestmark = pytest.mark.system
SIIM = SAMPLES / "siim_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"
SIDE = 4480  # 4480 x 4480 16-bit pixels: a 40 MB file
RATE_BYTES_PER_S = 1_200_000  # about 9.6 Mbit/s shared by nothing else: 40 MB in ~34 s


def large_dicom(patient_id: str) -> bytes:
    """The SIIM sample's header over 4480 x 4480 uncompressed 16-bit pixels."""
    from io import BytesIO

    dataset = pydicom.dcmread(SIIM)
    rng = np.random.default_rng(sum(map(ord, patient_id)))
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    pixels = (2000 + 1500 * np.sin(x / 300) * np.cos(y / 400)
              + rng.integers(0, 200, (SIDE, SIDE))).astype(np.uint16)
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.Rows = dataset.Columns = SIDE
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 16, 12, 11
    dataset.SamplesPerPixel, dataset.PixelRepresentation = 1, 0
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.PixelData = pixels.tobytes()
    dataset["PixelData"].VR = "OW"
    dataset.PatientID = patient_id
    out = BytesIO()
    dataset.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_two_slow_40_mb_uploads_succeed_while_other_pages_answer_within_a_second(stack):
    files = {name: large_dicom(name) for name in ("SLOW-UPLOAD-1", "SLOW-UPLOAD-2")}
    assert all(len(content) > 40_000_000 for content in files.values())
    host, port = stack.base_url.removeprefix("http://").split(":")
    proxy = ThrottlingProxy((host, int(port)), RATE_BYTES_PER_S)
    session = logged_in_session(stack)
    slow_url = f"http://127.0.0.1:{proxy.port}/studies/new/"

    def upload(name):
        started = time.monotonic()
        uploader = logged_in_session(stack)
        answer = uploader.post(slow_url, files={"image": (f"{name}.dcm", files[name])},
                               # one timeout for connecting and sending: Python's sendall()
                               # sends the whole body under the connect timeout
                               headers={"Accept": "application/json"}, timeout=180)
        return answer.status_code, answer.json(), time.monotonic() - started

    latencies = {"/healthz": [], "/studies/new/": []}
    with ThreadPoolExecutor(2) as pool:
        uploads = [pool.submit(upload, name) for name in files]
        time.sleep(2)
        while not all(u.done() for u in uploads):
            for path, seen in latencies.items():
                started = time.monotonic()
                response = session.get(stack.base_url + path, timeout=10)
                seen.append(time.monotonic() - started)
                assert response.status_code == 200, path
            time.sleep(0.5)
        answers = [u.result() for u in uploads]
    proxy.close()

    for status, answer, seconds in answers:
        assert status == 201, answer
        assert seconds > 30, f"the link was not slow enough to test anything: {seconds:.0f} s"
    for path, seen in latencies.items():
        assert len(seen) >= 20 and max(seen) < 1.0, (
            f"{path}: median {statistics.median(seen):.3f} s, max {max(seen):.3f} s")
    for name, (_, answer, _) in zip(files, answers):
        study = session.get(stack.base_url + answer["status_url"], timeout=10).json()
        assert study["patient_id"] == name and study["status"] != "failed", study
