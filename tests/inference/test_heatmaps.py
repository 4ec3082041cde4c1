"""Class activation maps drawn where the model looked: over the original image's centre crop."""

import io

import numpy as np
import pytest
from PIL import Image

from inference.imaging.heatmaps import cam_box, heatmap_overlay, heatmap_png
from inference.imaging.preprocessing import resized_size
from inference.imaging.raster import open_image
from tests.shared import NEEDS_SAMPLES, SAMPLE_PNGS

GREY = 128


def hot_cell(row: int, column: int) -> np.ndarray:
    cam = np.zeros((7, 7), dtype=np.float32)
    cam[row, column] = 5.0
    return cam


def heat(image: Image.Image, overlay: Image.Image) -> np.ndarray:
    """How much each pixel changed."""
    difference = np.asarray(overlay, dtype=np.int32) - np.asarray(image.convert("RGB"), np.int32)
    return np.abs(difference).sum(axis=2)


def test_the_box_of_a_1024_square_image_is_the_crop_scaled_back_by_four() -> None:
    # Resize 1024 -> 256 scales by 4; the crop starts at 16 in the resized image, 64 here.
    assert cam_box(1024, 1024) == (64, 64, 960, 960)
    assert cam_box(256, 256) == (16, 16, 240, 240)
    assert cam_box(512, 512) == (32, 32, 480, 480)


@pytest.mark.parametrize("size", [(1000, 700), (700, 1000), (2048, 1536), (300, 1024), (257, 256)])
def test_the_box_of_any_image_follows_the_resize_and_the_crop(size: tuple[int, int]) -> None:
    width, height = size
    resized_width, resized_height = resized_size(width, height)
    left_in_resized = round((resized_width - 224) / 2)
    top_in_resized = round((resized_height - 224) / 2)

    left, top, right, bottom = cam_box(width, height)

    assert left == pytest.approx(left_in_resized * width / resized_width)
    assert top == pytest.approx(top_in_resized * height / resized_height)
    assert right - left == pytest.approx(224 * width / resized_width)
    assert bottom - top == pytest.approx(224 * height / resized_height)
    assert 0 <= left < right <= width and 0 <= top < bottom <= height


@pytest.mark.parametrize(("row", "column"), [(0, 0), (2, 5), (3, 3), (6, 6), (6, 1)])
@pytest.mark.parametrize("size", [(1024, 1024), (1000, 700), (600, 900)])
def test_a_single_hot_cell_is_hottest_over_its_own_region(
    size: tuple[int, int], row: int, column: int
) -> None:
    image = Image.new("RGB", size, (GREY, GREY, GREY))
    left, top, right, bottom = cam_box(*size)
    cell_width, cell_height = (right - left) / 7, (bottom - top) / 7

    changed = heat(image, heatmap_overlay(image, hot_cell(row, column)))

    y, x = np.unravel_index(changed.argmax(), changed.shape)
    assert left + column * cell_width <= x + 0.5 <= left + (column + 1) * cell_width
    assert top + row * cell_height <= y + 0.5 <= top + (row + 1) * cell_height


@pytest.mark.parametrize("size", [(1024, 1024), (1000, 700)])
def test_pixels_outside_the_box_are_unchanged(size: tuple[int, int]) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0]), dtype=np.uint8)
    image = Image.fromarray(pixels).convert("RGB")
    cam = np.random.default_rng(1).standard_normal((7, 7))  # every cell warm somewhere
    left, top, right, bottom = cam_box(*size)

    changed = heat(image, heatmap_overlay(image, cam, opacity=1.0)) > 0

    ys, xs = np.nonzero(changed)
    assert xs.min() + 0.5 >= left and xs.max() + 0.5 <= right
    assert ys.min() + 0.5 >= top and ys.max() + 0.5 <= bottom
    assert changed.mean() > 0.2  # the warm part of the map is drawn


def test_cold_values_stay_transparent_and_a_flat_map_draws_nothing() -> None:
    image = Image.new("RGB", (512, 512), (GREY, GREY, GREY))

    changed = heat(image, heatmap_overlay(image, hot_cell(3, 3)))

    assert changed[10:100, 10:100].max() == 0 and changed.max() > 0
    assert heat(image, heatmap_overlay(image, np.full((7, 7), 3.0))).max() == 0


def test_the_hottest_colour_is_bright_and_opacity_scales_it() -> None:
    image = Image.new("RGB", (512, 512), (0, 0, 0))

    full = np.asarray(heatmap_overlay(image, hot_cell(3, 3), opacity=1.0))[256, 256]
    half = np.asarray(heatmap_overlay(image, hot_cell(3, 3), opacity=0.5))[256, 256]

    assert full[:2].min() > 200 and full[2] > 100  # inferno's hot end: pale yellow
    assert np.abs(half.astype(int) - full / 2).max() <= 1


def test_a_large_image_is_drawn_at_max_side_with_the_same_geometry() -> None:
    image = Image.new("L", (3000, 2000), GREY)

    overlay = heatmap_overlay(image, hot_cell(2, 5), max_side=600)

    assert overlay.mode == "RGB" and overlay.size == (600, 400)
    changed = heat(image.resize((600, 400)), overlay)
    y, x = np.unravel_index(changed.argmax(), changed.shape)
    left, top, right, bottom = (v / 5 for v in cam_box(3000, 2000))
    assert left + 5 * (right - left) / 7 <= x + 0.5 <= left + 6 * (right - left) / 7
    assert top + 2 * (bottom - top) / 7 <= y + 0.5 <= top + 3 * (bottom - top) / 7


@NEEDS_SAMPLES
def test_a_heatmap_png_of_a_real_x_ray() -> None:
    image = open_image(SAMPLE_PNGS[0])

    png = heatmap_png(image, np.random.default_rng(2).standard_normal((7, 7)), opacity=0.6)

    decoded = Image.open(io.BytesIO(png))
    assert (decoded.format, decoded.mode, decoded.size) == ("PNG", "RGB", image.size)


@pytest.mark.parametrize("cam", [np.zeros((14, 7, 7)), np.zeros((8, 8)), np.full((7, 7), np.nan)])
def test_anything_but_one_finite_7x7_map_is_refused(cam: np.ndarray) -> None:
    with pytest.raises(ValueError, match="7x7"):
        heatmap_overlay(Image.new("RGB", (256, 256)), cam)
