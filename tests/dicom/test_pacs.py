"""ChexWeb as a DICOM node between a real PACS (Orthanc) and dcmtk: the listener, model server and
worker processes of the Procfile, started as `make run` starts them.

Orthanc sends a radiograph (its REST /modalities/chexweb/store), dcmtk's storescu sends another;
each becomes a study, is diagnosed, and its SR and key image come back into the same study in
Orthanc (C-STORE, and STOW-RS to Orthanc's DICOMweb), where the SR's 14 values are read back. Hostile
input over the network is refused with a reason, and the processes live on."""

import sqlite3
import subprocess
import time

import pydicom
import pytest
from pydicom.filebase import DicomBytesIO
from pynetdicom import AE

from diagnoses.dicom.results import sr_probabilities
from inference.findings import FINDINGS
from tests.conftest import start_model_server
from tests.dicom.dicom_files import CT_IMAGE_STORAGE, file_bytes, radiograph, truncated, undecodable
from tests.dicom.orthanc import orthanc_start
from tests.processes import Process, free_port, procfile_command, run_checked, wait_until

pytestmark = pytest.mark.system

STORESCU_AE_TITLE = "STORESCU"
# dcmtk's, not the same-named scripts pynetdicom puts in the virtualenv (first on the PATH here)
ECHOSCU, STORESCU = "/usr/bin/echoscu", "/usr/bin/storescu"


class Node:
    def __init__(self, env, var_dir, listen_port, orthanc, processes):
        self.env, self.var_dir, self.port = env, var_dir, listen_port
        self.orthanc, self.processes = orthanc, processes

    def rows(self, sql: str, *parameters) -> list[tuple]:
        with sqlite3.connect(self.var_dir / "chexweb.sqlite3", timeout=30) as database:
            return database.execute(sql, parameters).fetchall()

    def study(self, sop_instance_uid: str) -> dict | None:
        rows = self.rows("SELECT id, status, source, calling_ae_title, patient_id, "
                         "accession_number, modality, view_position, body_part_examined, "
                         "study_instance_uid, series_instance_uid, failure_reason "
                         "FROM diagnoses_study WHERE sop_instance_uid = ?", sop_instance_uid)
        keys = ("id", "status", "source", "calling_ae_title", "patient_id", "accession_number",
                "modality", "view_position", "body_part_examined", "study_instance_uid",
                "series_instance_uid", "failure_reason")
        return dict(zip(keys, rows[0])) if rows else None

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


def echo(port: int, calling: str) -> subprocess.CompletedProcess:
    return subprocess.run([ECHOSCU, "-aet", calling, "-aec", "CHEXWEB", "127.0.0.1", str(port)],
                          capture_output=True, text=True, timeout=60)


def storescu(port: int, path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([STORESCU, "-aet", STORESCU_AE_TITLE, "-aec", "CHEXWEB", *options,
                           "127.0.0.1", str(port), str(path)],
                          capture_output=True, text=True, timeout=60)


def pynetdicom_store(port: int, path, sop_class: str, syntax: str) -> int:
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


@pytest.fixture(scope="module")
def node(tmp_path_factory, chexnet_onnx, redis_url):
    var_dir = tmp_path_factory.mktemp("var")
    listen_port = free_port()
    orthanc = orthanc_start(tmp_path_factory.mktemp("orthanc"), chexweb_port=listen_port)
    model, graphpipe_url = start_model_server(chexnet_onnx)
    env = {
        "CHEXWEB_VAR_DIR": str(var_dir), "DATABASE_URL": "", "REDIS_URL": redis_url,
        "GRAPHPIPE_URL": graphpipe_url, "CHEXWEB_DIAGNOSIS_MAX_RETRIES": "3",
        "CHEXWEB_DICOM_LISTEN": f"127.0.0.1:{listen_port}",
        "CHEXWEB_DICOM_PEERS": f"{orthanc.peer},{STORESCU_AE_TITLE}@127.0.0.1:104,"
                               f"DOWN@127.0.0.1:{free_port()}",
        "CHEXWEB_DICOM_SEND_TO": "ORTHANC,DOWN",
        "CHEXWEB_DICOMWEB_SEND_TO": orthanc.dicomweb_url,
        "CHEXWEB_DICOM_SEND_MAX_ATTEMPTS": "2", "CHEXWEB_DICOM_SEND_BACKOFF_S": "1",
    }
    run_checked(["python", "manage.py", "migrate", "--noinput"], env=env)
    processes = {
        "model": model,
        "worker": Process("worker", procfile_command("worker"), env=env),
        "dicom": Process("dicom", procfile_command("dicom"), env=env),
    }
    wait_until(lambda: echo(listen_port, STORESCU_AE_TITLE).returncode == 0, timeout=60,
               what="DICOM listener", process=processes["dicom"])
    yield Node(env, var_dir, listen_port, orthanc, processes)
    for process in [*processes.values(), orthanc.process]:
        process.stop()


def test_orthanc_and_storescu_send_and_the_results_come_back_into_the_study(node, tmp_path):
    from_orthanc = radiograph(patient_id="PAT-ORTHANC", accession_number="ACC-1")
    node.orthanc.send_to("chexweb", node.orthanc.upload(file_bytes(from_orthanc)))
    from_storescu = radiograph(patient_id="PAT-STORESCU", accession_number="ACC-2")
    path = tmp_path / "cr.dcm"
    path.write_bytes(file_bytes(from_storescu))
    sent = storescu(node.port, path, "-xy")
    assert sent.returncode == 0, sent.stdout + sent.stderr

    for source, calling in ((from_orthanc, "ORTHANC"), (from_storescu, STORESCU_AE_TITLE)):
        study = node.wait_done(source.SOPInstanceUID)
        assert study["status"] == "done", study["failure_reason"]
        assert (study["source"], study["calling_ae_title"]) == ("dicom", calling)
        assert (study["patient_id"], study["modality"], study["view_position"],
                study["body_part_examined"]) == (source.PatientID, "CR", "PA", "CHEST")
        assert study["study_instance_uid"] == source.StudyInstanceUID
        assert study["series_instance_uid"] == source.SeriesInstanceUID
        # The source (Orthanc's own, or sent on by us), the SR and the key image
        instances = node.orthanc.wait_for_instances(source.StudyInstanceUID, 3 if calling ==
                                                    "ORTHANC" else 2, timeout=60)
        tags = {instance["ID"]: node.orthanc.get(f"/instances/{instance['ID']}/simplified-tags")
                .json() for instance in instances}
        sr_ids = [key for key, value in tags.items() if value.get("Modality") == "SR"]
        key_images = [value for value in tags.values()
                      if value.get("SOPClassUID") == "1.2.840.10008.5.1.4.1.1.7"]
        assert len(sr_ids) == 1 and len(key_images) == 1
        assert key_images[0]["BurnedInAnnotation"] == "YES"
        assert len({value["SeriesInstanceUID"] for value in tags.values()}) == len(tags)
        sr = pydicom.dcmread(DicomBytesIO(node.orthanc.instance_file(sr_ids[0])))
        stored = dict(node.rows(
            "SELECT f.name, f.probability FROM diagnoses_finding f JOIN diagnoses_prediction p "
            "ON f.prediction_id = p.id WHERE p.study_id = ?", study["id"]))
        values = sr_probabilities(sr)
        assert set(values) == set(FINDINGS) == set(stored)
        assert {name: value for name, (value, _) in values.items()} == pytest.approx(stored)
        deliveries = dict(node.rows(
            "SELECT destination, status FROM diagnoses_dicomdelivery WHERE study_id = ? AND "
            "destination NOT LIKE 'DOWN@%'", study["id"]))
        wait_until(lambda: set(dict(node.rows(
            "SELECT destination, status FROM diagnoses_dicomdelivery WHERE study_id = ? AND "
            "destination NOT LIKE 'DOWN@%'", study["id"])).values()) == {"delivered"},
            timeout=30, what="C-STORE and STOW-RS deliveries")
        assert node.orthanc.peer in deliveries and node.orthanc.dicomweb_url in deliveries


def test_a_destination_that_is_down_ends_failed_with_its_reason(node, tmp_path):
    source = radiograph()
    path = tmp_path / "cr.dcm"
    path.write_bytes(file_bytes(source))
    assert storescu(node.port, path, "-xy").returncode == 0
    study = node.wait_done(source.SOPInstanceUID)

    def down():
        rows = node.rows("SELECT status, attempts, last_error FROM diagnoses_dicomdelivery "
                         "WHERE study_id = ? AND destination LIKE 'DOWN@%'", study["id"])
        return rows[0] if rows and rows[0][0] == "failed" else None

    wait_until(lambda: down() is not None, timeout=60, what="the delivery to DOWN failing")
    status, attempts, reason = down()
    assert attempts == 2 and reason.startswith("Gave up after 2 attempts: DOWN@127.0.0.1:")
    assert "no association" in reason
    node.alive()


def test_a_re_sent_instance_makes_no_second_study(node, tmp_path):
    source = radiograph()
    path = tmp_path / "cr.dcm"
    path.write_bytes(file_bytes(source))
    assert storescu(node.port, path, "-xy").returncode == 0
    count = node.study_count()
    assert storescu(node.port, path, "-xy").returncode == 0
    assert node.study_count() == count


def test_an_unknown_calling_ae_is_rejected(node):
    answer = echo(node.port, "STRANGER")
    assert answer.returncode != 0
    assert "Calling AE Title Not Recognized" in answer.stdout + answer.stderr
    node.alive()


def test_hostile_instances_are_refused_with_a_reason_and_nothing_is_stored(node, tmp_path):
    studies, files = node.study_count(), node.stored_files()
    ct = radiograph()
    ct.SOPClassUID = ct.file_meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    ct.Modality = "CT"
    (tmp_path / "ct.dcm").write_bytes(file_bytes(ct))
    refused = storescu(node.port, tmp_path / "ct.dcm", "-xy")
    assert "no presentation context" in (refused.stdout + refused.stderr).lower()

    cr = radiograph()
    syntax = cr.file_meta.TransferSyntaxUID
    (tmp_path / "truncated.dcm").write_bytes(file_bytes(truncated(radiograph())))
    assert pynetdicom_store(node.port, tmp_path / "truncated.dcm", cr.SOPClassUID,
                            syntax) == 0xC000
    (tmp_path / "undecodable.dcm").write_bytes(file_bytes(undecodable(radiograph())))
    assert pynetdicom_store(node.port, tmp_path / "undecodable.dcm", cr.SOPClassUID,
                            syntax) == 0xC000
    ct_as_cr = radiograph(modality="CT")
    (tmp_path / "ct-as-cr.dcm").write_bytes(file_bytes(ct_as_cr))
    assert pynetdicom_store(node.port, tmp_path / "ct-as-cr.dcm", cr.SOPClassUID,
                            syntax) == 0xC000

    time.sleep(1)
    assert (node.study_count(), node.stored_files()) == (studies, files)
    log = node.processes["dicom"].log()
    assert "could not be decoded" in log and "CT images are not chest radiographs" in log
    node.alive()
