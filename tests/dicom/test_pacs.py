"""ChexWeb as a DICOM node between a real PACS (Orthanc) and dcmtk: the listener, model server and
worker processes of the Procfile, started as `make run` starts them (the `node` fixture).

Orthanc sends a radiograph (its REST /modalities/chexweb/store), dcmtk's storescu sends another;
each becomes a study, is diagnosed, and its SR and key image come back into the same study in
Orthanc (C-STORE, and STOW-RS to Orthanc's DICOMweb), where the SR's 14 values are read back. Hostile
input over the network is refused with a reason, and the processes live on."""

import time

import pydicom
import pytest
from pydicom.filebase import DicomBytesIO

from diagnoses.dicom.results import sr_probabilities
from inference.findings import FINDINGS
from tests.dicom.dicom_files import CT_IMAGE_STORAGE, file_bytes, radiograph, truncated, undecodable
from tests.dicom.node import STORESCU_AE_TITLE, echo, pynetdicom_store, storescu
from tests.processes import wait_until

pytestmark = pytest.mark.system


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
