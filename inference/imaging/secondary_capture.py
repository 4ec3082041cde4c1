"""A PNG or JPEG study as a minimal DICOM Secondary Capture, so the viewer shows every study the
same way: greyscale pixel values it can window, level and invert, at full resolution.

It carries the pixels and their geometry only: no patient, no study, no dates. The window is the
full 8-bit range, which shows the image exactly as it was uploaded.
"""

import io

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

FULL_RANGE_CENTRE, FULL_RANGE_WIDTH = 127.5, 256


def secondary_capture(image: Image.Image) -> bytes:
    """IMAGE ('L', or anything Pillow converts to 'L') as DICOM bytes, MONOCHROME2, 8 bits."""
    pixels = np.ascontiguousarray(np.asarray(image.convert("L"), dtype=np.uint8))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = SecondaryCaptureImageStorage
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.StudyInstanceUID = generate_uid()
    dataset.SeriesInstanceUID = generate_uid()
    dataset.Modality = "OT"
    dataset.ConversionType = "WSD"
    dataset.Rows, dataset.Columns = pixels.shape
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated = dataset.BitsStored = 8
    dataset.HighBit = 7
    dataset.PixelRepresentation = 0
    dataset.WindowCenter, dataset.WindowWidth = FULL_RANGE_CENTRE, FULL_RANGE_WIDTH
    dataset.WindowCenterWidthExplanation = "As uploaded"
    dataset.PixelData = pixels.tobytes()
    output = io.BytesIO()
    dataset.save_as(output, enforce_file_format=True)
    return output.getvalue()
