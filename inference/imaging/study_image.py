"""An uploaded study (DICOM, PNG, JPEG, ...) -> the image CheXNet takes, and what we noticed.

The app reads an upload as a `StudyUpload`, to refuse what cannot be read: its facts and a
`resized_copy` of the image, which it keeps; the worker reads that (a 256-pixel PNG) instead of
decoding the upload a second time, and gets the same model input, bit for bit. `read_study_image`
gives the decoded image itself, for the renderings and the worker's fallback.
"""

import io
from dataclasses import dataclass, replace

from PIL import Image

from inference.imaging.budget import IMAGE_BUDGET, ImageBudget
from inference.imaging.dicom import DicomStudy, is_dicom, read_dicom
from inference.imaging.plausibility import frontal_radiograph_warnings
from inference.imaging.preprocessing import (
    RESIZE_SHORTER_SIDE,
    ImageError,
    resized,
    to_grey_or_rgb,
)
from inference.imaging.raster import open_image, read_raster

RASTER_FORMATS = ("PNG", "JPEG")


@dataclass(frozen=True)
class StudyImage:
    # ready for `preprocess`: 'L' for greyscale (DICOM MONOCHROME1/2, greyscale and 16-bit rasters),
    # 'RGB' otherwise. Greyscale stays 'L' until after the resize; the model sees it as RGB with
    # three equal channels, exactly as convert("RGB") makes it.
    image: Image.Image
    format: str  # "DICOM", or the raster's format as Pillow names it: "PNG", "JPEG", ...
    dicom: DicomStudy | None
    warnings: list[str]  # reasons this is unlikely to be a frontal chest radiograph


@dataclass(frozen=True)
class StudyUpload:
    """What the app keeps of an upload: a `StudyImage`'s facts and its `resized_copy`, without
    the decoded image (a 1024 x 1024 PNG decodes to 1 MiB, a DICOM to tens: the decoding child
    sends back this instead, about 35 KB)."""

    format: str
    dicom: DicomStudy | None  # its header's facts; its `image` is None (not sent back)
    warnings: list[str]
    resized_copy: bytes  # `resized_copy` of the image: a PNG, shorter side 256


def study_upload_of(study_image: StudyImage) -> StudyUpload:
    dicom = study_image.dicom
    return StudyUpload(study_image.format, dicom and replace(dicom, image=None),
                       study_image.warnings, resized_copy(study_image.image))


def read_study_image(data: bytes, *, budget: ImageBudget = IMAGE_BUDGET) -> StudyImage:
    """The upload's image, 'L' for greyscale and 'RGB' otherwise, with its format, DICOM facts and
    warnings. Greyscale stays 'L' until after the resize; the model sees it as RGB with three equal
    channels, exactly as convert("RGB") makes it.

    Only PNG, JPEG (RASTER_FORMATS) and DICOM are decoded; the cost of decoding is checked
    against BUDGET from the header first. Raises ImageError (DicomError for DICOM files) with a
    message fit to show the uploader: ImageOverBudget over the budget, UnsupportedImage for a
    format that is not accepted.
    """
    if is_dicom(data):
        study = read_dicom(data, budget=budget)
        image, image_format = to_grey_or_rgb(study.image), "DICOM"
    else:
        study = None
        image, image_format = read_raster(data, budget=budget, formats=RASTER_FORMATS)
    return StudyImage(image, image_format, study, frontal_radiograph_warnings(image))


def resized_copy(image: Image.Image) -> bytes:
    """IMAGE as the model's preprocessing resizes it (shorter side 256), as a lossless PNG.
    `preprocess` of it equals `preprocess` of IMAGE."""
    buffer = io.BytesIO()
    resized(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def read_resized_copy(data: bytes) -> Image.Image:
    """A `resized_copy` back, 'L' or 'RGB'. ImageError if it is not one for this preprocessing."""
    image = open_image(data)
    if min(image.size) != RESIZE_SHORTER_SIDE:
        raise ImageError(f"a resized copy of {image.size[0]}x{image.size[1]} pixels is not for "
                         f"this preprocessing (shorter side {RESIZE_SHORTER_SIDE})")
    return image

