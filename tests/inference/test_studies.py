"""Any upload -> an image for the model ('L' for greyscale, 'RGB' for colour), its format, the
DICOM facts and the warnings."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.imaging.dicom import DicomError, read_dicom
from inference.imaging.budget import ImageBudget
from inference.imaging.preprocessing import ImageError, center_crop, ten_crop, to_rgb
from inference.imaging.raster import open_image
from inference.imaging.study_image import StudyImage, read_study_image
from tests.shared import NEEDS_SAMPLES, SAMPLE_DICOMS, SAMPLE_PNGS
from tests.torchvision_reference import TORCHVISION_CENTER, TORCHVISION_TENCROP

NO_SAMPLES = NEEDS_SAMPLES


def encoded(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


@NO_SAMPLES
@pytest.mark.parametrize(
    "path", SAMPLE_PNGS + SAMPLE_DICOMS, ids=[p.name for p in SAMPLE_PNGS + SAMPLE_DICOMS]
)
def test_every_sample_reads_as_a_greyscale_x_ray_without_warnings(path: Path) -> None:
    study = read_study_image(path.read_bytes())

    assert isinstance(study, StudyImage)
    assert study.image.mode == "L"
    assert study.warnings == []
    assert study.format == ("DICOM" if path.suffix == ".dcm" else "PNG")
    assert (study.dicom is not None) == (path.suffix == ".dcm")


@NO_SAMPLES
@pytest.mark.parametrize(
    "path", SAMPLE_PNGS + SAMPLE_DICOMS, ids=[p.name for p in SAMPLE_PNGS + SAMPLE_DICOMS]
)
def test_every_sample_gives_torchvisions_crops_of_its_rgb_image(path: Path) -> None:
    """The 'L' image gives the model exactly what its RGB conversion gives torchvision."""
    image = read_study_image(path.read_bytes()).image
    rgb = Image.fromarray(np.stack([np.asarray(image)] * 3, axis=-1))  # what convert("RGB") makes

    center = TORCHVISION_CENTER(rgb).unsqueeze(0).numpy()
    tencrop = TORCHVISION_TENCROP(rgb).numpy()

    assert np.abs(center_crop(image) - center).max() <= 1e-6
    assert np.abs(ten_crop(image) - tencrop).max() <= 1e-6
    assert np.array_equal(center_crop(image), center) and np.array_equal(ten_crop(image), tencrop)


@NO_SAMPLES
def test_a_png_reads_as_open_image_reads_it() -> None:
    data = SAMPLE_PNGS[0].read_bytes()

    study = read_study_image(data)

    assert np.array_equal(np.asarray(study.image), np.asarray(open_image(data)))
    assert study.dicom is None


@NO_SAMPLES
def test_a_dicom_reads_as_its_grey_image_with_its_study_facts() -> None:
    path = SAMPLE_DICOMS[0]

    study = read_study_image(path.read_bytes())

    grey = np.asarray(read_dicom(path).image)
    assert study.image.mode == "L" and np.array_equal(np.asarray(study.image), grey)
    assert np.array_equal(np.asarray(to_rgb(study.image)), np.stack([grey] * 3, axis=-1))
    assert study.dicom.modality == "CR" and study.dicom.view_position == "PA"


@NO_SAMPLES
def test_a_jpeg_is_named_as_such() -> None:
    study = read_study_image(encoded(Image.open(SAMPLE_PNGS[0]), "JPEG"))

    assert (study.format, study.image.mode, study.warnings) == ("JPEG", "L", [])


def test_a_colour_photograph_comes_with_warnings() -> None:
    photo = Image.fromarray(
        np.random.default_rng(0).integers(0, 256, (120, 400, 3), dtype=np.uint8)
    )

    study = read_study_image(encoded(photo, "PNG"))

    assert (study.format, study.image.mode) == ("PNG", "RGB")
    colour, shape, size = study.warnings
    assert "in colour" in colour and "far from square" in shape and "upscaled" in size


def test_refusals_keep_their_messages() -> None:
    with pytest.raises(ImageError, match="not a readable image"):
        read_study_image(b"just some text, not an image")
    with pytest.raises(ImageError, match="too large"):
        read_study_image(encoded(Image.new("L", (100, 100)), "PNG"), budget=ImageBudget(max_pixels=9_999))


@NO_SAMPLES
def test_a_dicom_refusal_is_a_dicom_error() -> None:
    with pytest.raises(DicomError, match="too large"):
        read_study_image(SAMPLE_DICOMS[0].read_bytes(), budget=ImageBudget(max_pixels=1000))
