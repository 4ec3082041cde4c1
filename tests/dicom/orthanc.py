"""A real PACS for the tests: Debian's Orthanc with its DICOMweb plugin, on free ports, from a
configuration of its own, with ChexWeb as one of its modalities."""

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.processes import Process, free_port, wait_until

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
ORTHANC_AE_TITLE = "ORTHANC"


@dataclass
class Orthanc:
    url: str
    dicom_port: int
    process: Process

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    @property
    def peer(self) -> str:
        """How ChexWeb names it in CHEXWEB_DICOM_PEERS."""
        return f"{ORTHANC_AE_TITLE}@127.0.0.1:{self.dicom_port}"

    def get(self, path: str, **kwargs):
        response = requests.get(f"{self.url}{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response

    def post(self, path: str, **kwargs):
        response = requests.post(f"{self.url}{path}", timeout=60, **kwargs)
        response.raise_for_status()
        return response

    def upload(self, content: bytes) -> str:
        """Store an instance in Orthanc (as a modality would have): its Orthanc id."""
        return self.post("/instances", data=content).json()["ID"]

    def send_to(self, modality: str, instance_id: str) -> dict:
        """Orthanc's C-STORE of an instance to one of its modalities (synchronous)."""
        return self.post(f"/modalities/{modality}/store",
                         json={"Resources": [instance_id], "Synchronous": True}).json()

    def study_instances(self, study_instance_uid: str) -> list[dict]:
        """The instances of a study (its tags, simplified), [] while Orthanc has none."""
        found = self.post("/tools/find", json={"Level": "Instance", "Expand": True,
                                               "Query": {"StudyInstanceUID": study_instance_uid}})
        return found.json()

    def instance_file(self, instance_id: str) -> bytes:
        return self.get(f"/instances/{instance_id}/file").content

    def wait_for_instances(self, study_instance_uid: str, count: int, timeout: float) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            instances = self.study_instances(study_instance_uid)
            if len(instances) >= count:
                return instances
            time.sleep(0.5)
        raise TimeoutError(f"Orthanc holds {len(self.study_instances(study_instance_uid))} "
                           f"instances of the study after {timeout:.0f} s, not {count}")


def orthanc_start(directory: Path, *, chexweb_port: int, chexweb_ae_title: str = "CHEXWEB",
                  ) -> Orthanc:
    if not Path(ORTHANC).exists() or not DICOMWEB_PLUGIN.exists():
        pytest.fail("Debian's orthanc and orthanc-dicomweb are required: make system-packages")
    http_port, dicom_port = free_port(), free_port()
    config = {
        "Name": "ChexWeb test PACS",
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": ORTHANC_AE_TITLE,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "StorageDirectory": str(directory / "storage"),
        "IndexDirectory": str(directory / "index"),
        "DicomModalities": {"chexweb": [chexweb_ae_title, "127.0.0.1", chexweb_port]},
        "DicomScpTimeout": 30,
        "UnknownSopClassAccepted": True,
        "Plugins": [str(DICOMWEB_PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "SaveJobs": False,
    }
    path = directory / "orthanc.json"
    path.write_text(json.dumps(config))
    process = Process("orthanc", [ORTHANC, str(path)], env={})
    url = f"http://127.0.0.1:{http_port}"
    wait_until(lambda: requests.get(f"{url}/system", timeout=2).ok, timeout=30,
               what="Orthanc", process=process)
    return Orthanc(url, dicom_port, process)
