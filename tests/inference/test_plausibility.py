"""Warnings for uploads that are unlikely to be frontal chest radiographs; none for real ones."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.imaging.plausibility import colour_difference, frontal_radiograph_warnings
from inference.imaging.raster import open_image
from tests.shared import NEEDS_SAMPLES, SAMPLE_PNGS

NO_SAMPLES = NEEDS_SAMPLES


def x_ray() -> Image.Image:
    return open_image(SAMPLE_PNGS[0])


def colour_photograph(width: int = 640, height: int = 480) -> Image.Image:
    """Sky above grass, with a red something in the middle."""
    rows = np.linspace(0, 1, height)[:, None, None]
    sky, grass = np.array([110, 160, 230]), np.array([60, 140, 40])
    pixels = np.broadcast_to(sky * (1 - rows) + grass * rows, (height, width, 3)).copy()
    pixels[height // 3 : height // 2, width // 3 : width // 2] = (200, 30, 30)
    return Image.fromarray(pixels.astype(np.uint8))


def jpeg_round_trip(image: Image.Image, quality: int = 75) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality, subsampling=2)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


@NO_SAMPLES
@pytest.mark.parametrize("path", SAMPLE_PNGS, ids=[path.name for path in SAMPLE_PNGS])
def test_a_real_x_ray_gives_no_warning(path: Path) -> None:
    image = open_image(path)

    assert frontal_radiograph_warnings(image) == []
    assert frontal_radiograph_warnings(Image.open(path)) == []  # before conversion to RGB too


@NO_SAMPLES
def test_a_greyscale_x_ray_saved_as_a_colour_jpeg_gives_no_warning() -> None:
    assert frontal_radiograph_warnings(jpeg_round_trip(x_ray(), quality=50)) == []


def test_a_colour_photograph_is_called_one() -> None:
    (warning,) = frontal_radiograph_warnings(colour_photograph())

    assert warning.startswith("The image is in colour")
    assert "photograph" in warning


@NO_SAMPLES
def test_a_tinted_x_ray_is_colour_too() -> None:
    grey = np.asarray(x_ray().convert("RGB"), dtype=np.float64)
    sepia = Image.fromarray((grey * [1.0, 0.85, 0.65]).astype(np.uint8))

    assert colour_difference(sepia) > 10
    assert "in colour" in frontal_radiograph_warnings(sepia)[0]


def test_colour_in_a_palette_image_is_seen() -> None:
    palette = colour_photograph().quantize(colors=16)

    assert palette.mode == "P"
    assert colour_difference(palette) > 10


@pytest.mark.parametrize("mode", ["L", "LA", "I;16", "F"])
def test_single_channel_images_have_no_colour(mode: str) -> None:
    assert colour_difference(Image.new(mode, (300, 300))) == 0.0


@pytest.mark.parametrize("size", [(1200, 500), (500, 1200)])
def test_an_image_far_from_square_is_warned_about(size: tuple[int, int]) -> None:
    warnings = frontal_radiograph_warnings(Image.new("L", size, 128))

    assert len(warnings) == 1
    assert f"{size[0]}x{size[1]} pixels, far from square" in warnings[0]


@pytest.mark.parametrize("size", [(1000, 500), (500, 1000), (1024, 1024), (800, 1000)])
def test_up_to_two_to_one_is_fine(size: tuple[int, int]) -> None:
    assert frontal_radiograph_warnings(Image.new("L", size, 128)) == []


def test_a_tiny_image_will_be_upscaled() -> None:
    (warning,) = frontal_radiograph_warnings(Image.new("L", (255, 300), 128))

    assert "only 255x300 pixels" in warning and "upscaled" in warning
    assert frontal_radiograph_warnings(Image.new("L", (256, 300), 128)) == []


def test_every_reason_is_given() -> None:
    assert len(frontal_radiograph_warnings(colour_photograph(200, 60))) == 3
