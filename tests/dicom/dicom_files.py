"""DICOM instances for the tests, made from the shared sample (a Secondary Capture of a chest
radiograph, JPEG baseline): as a CR or DX instance with UIDs of its own, or spoilt on purpose."""

import io

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.shared import SAMPLE_DICOMS, skip_without, SAMPLES

CR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def sample_dataset() -> Dataset:
    if not SAMPLE_DICOMS:
        skip_without(SAMPLES / "*.dcm")
    return pydicom.dcmread(SAMPLE_DICOMS[0])


def radiograph(*, sop_class: str = CR_IMAGE_STORAGE, modality: str = "CR",
               study_instance_uid: str | None = None, patient_id: str = "PAT-0001",
               accession_number: str = "ACC-0001") -> Dataset:
    """The sample as a new instance of SOP_CLASS (new study, series and instance UIDs)."""
    dataset = sample_dataset()
    dataset.SOPClassUID = dataset.file_meta.MediaStorageSOPClassUID = sop_class
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset.StudyInstanceUID = study_instance_uid or generate_uid()
    dataset.SeriesInstanceUID = generate_uid()
    dataset.Modality = modality
    dataset.PatientID = patient_id
    dataset.AccessionNumber = accession_number
    dataset.BodyPartExamined = "CHEST"
    dataset.ViewPosition = "PA"
    return dataset


def file_bytes(dataset: Dataset) -> bytes:
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def undecodable(dataset: Dataset) -> Dataset:
    """The header of a JPEG radiograph over pixel data that is no JPEG at all."""
    from pydicom.encaps import encapsulate

    dataset.PixelData = encapsulate([b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8])
    return dataset


def uncompressed(dataset: Dataset) -> Dataset:
    """The same image decoded and stored as Explicit VR Little Endian."""
    pixels = dataset.pixel_array
    dataset.PixelData = np.ascontiguousarray(pixels).tobytes()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return dataset


def truncated(dataset: Dataset) -> Dataset:
    """The radiograph with its compressed image cut off halfway, as a transfer that broke off
    leaves it (re-encapsulated, so that it can still be sent)."""
    from pydicom.encaps import encapsulate, generate_frames

    frame = next(generate_frames(dataset.PixelData, number_of_frames=1))
    dataset.PixelData = encapsulate([frame[: len(frame) // 2]])
    return dataset
