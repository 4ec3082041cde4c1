"""The DICOM intake every channel shares (C-STORE, STOW-RS): the upload's rules, the instance's
identity, a re-sent instance."""

import pytest

from diagnoses.dicom.intake import RECEIVER_USERNAME, InstanceRefused, dicom_instance_receive
from diagnoses.models import Study
from tests.dicom.dicom_files import (
    CT_IMAGE_STORAGE,
    DX_FOR_PRESENTATION,
    file_bytes,
    radiograph,
    truncated,
    undecodable,
)

pytestmark = pytest.mark.django_db


def test_it_makes_a_study_from_a_cr_instance_with_its_header():
    dataset = radiograph(patient_id="PAT-7", accession_number="ACC-7")
    received = dicom_instance_receive(content=file_bytes(dataset), calling_ae_title="ORTHANC")
    study = Study.objects.get(pk=received.study.pk)
    assert not received.replayed
    assert (study.source, study.calling_ae_title, study.status) == ("dicom", "ORTHANC", "queued")
    assert study.sop_instance_uid == dataset.SOPInstanceUID
    assert study.series_instance_uid == dataset.SeriesInstanceUID
    assert study.study_instance_uid == dataset.StudyInstanceUID
    assert (study.patient_id, study.accession_number) == ("PAT-7", "ACC-7")
    assert (study.modality, study.view_position, study.body_part_examined) == ("CR", "PA", "CHEST")
    assert study.uploaded_by.username == RECEIVER_USERNAME
    assert not study.uploaded_by.has_usable_password()


def test_it_takes_digital_x_ray_too(clinician):
    received = dicom_instance_receive(
        content=file_bytes(radiograph(sop_class=DX_FOR_PRESENTATION, modality="DX")),
        received_by=clinician)
    assert received.study.uploaded_by == clinician and received.study.modality == "DX"


def test_a_re_sent_instance_makes_no_second_study():
    content = file_bytes(radiograph())
    first = dicom_instance_receive(content=content, calling_ae_title="ORTHANC")
    again = dicom_instance_receive(content=content, calling_ae_title="ROUTER")
    assert again.replayed and again.study.pk == first.study.pk
    assert Study.objects.count() == 1


@pytest.mark.parametrize("spoil, code, reason", [
    (lambda d: setattr(d, "SOPClassUID", CT_IMAGE_STORAGE), "sop_class", "SOP class"),
    (lambda d: setattr(d, "Modality", "CT"), "not_an_image", "CT images are not chest"),
    (undecodable, "not_an_image", "could not be decoded"),
    (truncated, "not_an_image", "could not be decoded"),
    (lambda d: setattr(d, "PatientID", "P" * 65), "not_an_image", "PatientID is longer"),
])
def test_it_refuses_what_the_upload_refuses_and_stores_nothing(spoil, code, reason,
                                                               study_storage):
    dataset = radiograph()
    spoil(dataset)
    with pytest.raises(InstanceRefused) as refused:
        dicom_instance_receive(content=file_bytes(dataset), calling_ae_title="ORTHANC")
    assert refused.value.code == code and reason in str(refused.value)
    assert not Study.objects.exists()
    assert not [path for path in study_storage.rglob("*") if path.is_file()]


def test_it_refuses_a_truncated_file():
    content = file_bytes(radiograph())
    with pytest.raises(InstanceRefused):
        dicom_instance_receive(content=content[: len(content) // 2], calling_ae_title="ORTHANC")
    assert not Study.objects.exists()


def test_it_refuses_an_empty_instance():
    with pytest.raises(InstanceRefused) as refused:
        dicom_instance_receive(content=b"", calling_ae_title="ORTHANC")
    assert refused.value.code == "empty"
