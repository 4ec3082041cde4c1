"""An uploaded study (DICOM, PNG, JPEG, ...) -> the RGB image CheXNet takes, and what we noticed.

The app calls `read_study_image` on upload, to refuse what cannot be read, and in the worker.
"""

import io
from dataclasses import dataclass

from PIL import Image

from inference.dicom import DicomStudy, is_dicom, read_dicom
from inference.plausibility import frontal_radiograph_warnings
from inference.preprocessing import MAX_PIXELS, open_image, to_rgb


@dataclass(frozen=True)
class StudyImage:
    image: Image.Image  # RGB, ready for `preprocess`
    format: str  # "DICOM", or the raster's format as Pillow names it: "PNG", "JPEG", ...
    dicom: DicomStudy | None
    warnings: list[str]  # reasons this is unlikely to be a frontal chest radiograph


def read_study_image(data: bytes, *, max_pixels: int = MAX_PIXELS) -> StudyImage:
    """Raises ImageError (DicomError for DICOM files) with a message fit to show the uploader."""
    if is_dicom(data):
        study = read_dicom(data, max_pixels=max_pixels)
        image, image_format = to_rgb(study.image), "DICOM"
    else:
        study = None
        image, image_format = open_image(data, max_pixels=max_pixels), _raster_format(data)
    return StudyImage(image, image_format, study, frontal_radiograph_warnings(image))


def _raster_format(data: bytes) -> str:
    """Read from the header again: `open_image` returns a converted copy that has no format."""
    with Image.open(io.BytesIO(data)) as raster:
        return raster.format or "unknown"
