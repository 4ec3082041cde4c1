"""ChexWeb as a DICOM node for the tests that talk to it over the network: its listener, model
server and worker processes (their Procfile commands), the database and storage they share, and
dcmtk's and pynetdicom's senders. The `node` fixture (tests/dicom/conftest.py) starts one."""

import signal
import sqlite3
import subprocess
from pathlib import Path

import pydicom
from pynetdicom import AE

from tests.processes import Process, procfile_command, wait_until

STORESCU_AE_TITLE = "STORESCU"
# dcmtk's, not the same-named scripts pynetdicom puts in the virtualenv (first on the PATH here)
ECHOSCU, STORESCU = "/usr/bin/echoscu", "/usr/bin/storescu"
STUDY_COLUMNS = ("id", "status", "source", "calling_ae_title", "patient_id", "accession_number",
                 "modality", "view_position", "body_part_examined", "study_instance_uid",
                 "series_instance_uid", "failure_reason")


class Node:
    def __init__(self, env, var_dir, temp_dir, listen_port, orthanc, processes):
        self.env, self.var_dir, self.temp_dir, self.port = env, var_dir, temp_dir, listen_port
        self.orthanc, self.processes = orthanc, processes

    def rows(self, sql: str, *parameters) -> list[tuple]:
        with sqlite3.connect(self.var_dir / "chexweb.sqlite3", timeout=30) as database:
            return database.execute(sql, parameters).fetchall()

    def study(self, sop_instance_uid: str) -> dict | None:
        rows = self.rows(f"SELECT {', '.join(STUDY_COLUMNS)} FROM diagnoses_study "
                         "WHERE sop_instance_uid = ?", sop_instance_uid)
        return dict(zip(STUDY_COLUMNS, rows[0])) if rows else None

    def study_count(self) -> int:
        return self.rows("SELECT COUNT(*) FROM diagnoses_study")[0][0]

    def stored_files(self) -> int:
        return sum(1 for path in (self.var_dir / "media").rglob("*") if path.is_file()
                   and "studies" in path.parts)

    def wait_done(self, sop_instance_uid: str, timeout: float = 90) -> dict:
        wait_until(lambda: (self.study(sop_instance_uid) or {}).get("status") in
                   ("done", "failed"), timeout=timeout, what="the study's diagnosis")
        return self.study(sop_instance_uid)

    def alive(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, f"{name} died: see {process.log_path}"
        assert echo(self.port, STORESCU_AE_TITLE).returncode == 0

    def listener_start(self) -> None:
        """The listener with its Procfile command (as `make run` and the supervisor start it),
        answering C-ECHO."""
        listener = Process("dicom", procfile_command("dicom"), env=self.env)
        self.processes["dicom"] = listener
        wait_until(lambda: echo(self.port, STORESCU_AE_TITLE).returncode == 0, timeout=60,
                   what="DICOM listener", process=listener)

    def listener_kill(self) -> None:
        """SIGKILL to the listener's process group: no clean-up, no answer, nothing."""
        listener = self.processes.pop("dicom")
        listener.signal(signal.SIGKILL)
        listener.stop()


def echo(port: int, calling: str) -> subprocess.CompletedProcess:
    return subprocess.run([ECHOSCU, "-aet", calling, "-aec", "CHEXWEB", "127.0.0.1", str(port)],
                          capture_output=True, text=True, timeout=60)


def storescu(port: int, path: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([STORESCU, "-aet", STORESCU_AE_TITLE, "-aec", "CHEXWEB", *options,
                           "127.0.0.1", str(port), str(path)],
                          capture_output=True, text=True, timeout=60)


def pynetdicom_store(port: int, path: Path, sop_class: str, syntax: str) -> int:
    """A C-STORE of a file as pydicom reads it (a truncated one with what is there): the status
    the listener answered."""
    ae = AE(ae_title=STORESCU_AE_TITLE)
    ae.add_requested_context(sop_class, syntax)
    association = ae.associate("127.0.0.1", port, ae_title="CHEXWEB")
    assert association.is_established
    try:
        return int(association.send_c_store(pydicom.dcmread(path)).Status)
    finally:
        association.release()
