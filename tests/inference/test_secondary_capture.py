"""A PNG or JPEG study as the DICOM the viewer reads: its pixels, nothing about the patient."""

import io

import numpy as np
import pydicom
from PIL import Image

from inference.imaging.secondary_capture import secondary_capture


def read(data: bytes) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(data))


def test_a_greyscale_image_keeps_every_pixel_at_full_resolution():
    pixels = np.random.default_rng(7).integers(0, 256, size=(300, 200), dtype=np.uint8)
    dataset = read(secondary_capture(Image.fromarray(pixels)))
    assert (dataset.Rows, dataset.Columns) == (300, 200)
    assert dataset.PhotometricInterpretation == "MONOCHROME2"
    assert np.array_equal(dataset.pixel_array, pixels)
    assert (float(dataset.WindowCenter), float(dataset.WindowWidth)) == (127.5, 256.0)


def test_a_colour_image_becomes_its_greyscale():
    image = Image.new("RGB", (4, 3), (200, 100, 50))
    dataset = read(secondary_capture(image))
    assert np.array_equal(dataset.pixel_array, np.asarray(image.convert("L")))


def test_it_says_nothing_of_the_patient_or_the_study():
    dataset = read(secondary_capture(Image.new("L", (8, 8))))
    keywords = {element.keyword for element in dataset}
    assert not keywords & {"PatientID", "PatientName", "PatientBirthDate", "StudyDate",
                           "AccessionNumber", "InstitutionName"}
    assert dataset.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
