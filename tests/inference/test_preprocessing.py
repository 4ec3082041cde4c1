"""Preprocessing equals torchvision's training transforms bit for bit; bad uploads are refused
clearly. Greyscale stays 'L' until after the resize, and gives what `convert("RGB")` gives."""

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.imaging.budget import ImageBudget
from inference.imaging.preprocessing import (
    ImageError,
    center_crop,
    preprocess,
    ten_crop,
    to_grey_or_rgb,
    to_rgb,
)
from inference.imaging.raster import open_image
from tests.processes import REPO
from tests.shared import NEEDS_SAMPLES, SAMPLE_PNGS
from tests.torchvision_reference import TORCHVISION_CENTER, TORCHVISION_TENCROP

NO_SAMPLES = NEEDS_SAMPLES

TOLERANCE = 1e-6  # the contract; today the values are bit-identical, and the tests say so too


def torchvision_center(image: Image.Image) -> np.ndarray:
    return TORCHVISION_CENTER(image.convert("RGB")).unsqueeze(0).numpy()


def torchvision_tencrop(image: Image.Image) -> np.ndarray:
    return TORCHVISION_TENCROP(image.convert("RGB")).numpy()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def png_claiming_size(width: int, height: int) -> bytes:
    """A valid PNG header claiming WIDTHxHEIGHT, followed by pixel data that cannot be decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + checksum

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    broken = b"not zlib-compressed pixels"
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", broken) + chunk(b"IEND", b"")


@NO_SAMPLES
@pytest.mark.parametrize("path", SAMPLE_PNGS, ids=[path.name for path in SAMPLE_PNGS])
def test_center_and_ten_crop_equal_torchvision_on_every_sample(path: Path) -> None:
    image = open_image(path.read_bytes())
    reference = Image.open(path)

    center, tencrop = center_crop(image), ten_crop(image)

    assert image.mode == "L"  # the samples are greyscale: resized in one channel, not three
    assert center.shape == (1, 3, 224, 224) and center.dtype == np.float32
    assert tencrop.shape == (10, 3, 224, 224) and tencrop.dtype == np.float32
    assert center.flags.c_contiguous and tencrop.flags.c_contiguous
    assert_equal_to_torchvision(center, torchvision_center(reference))
    assert_equal_to_torchvision(tencrop, torchvision_tencrop(reference))


def assert_equal_to_torchvision(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() <= TOLERANCE
    assert np.array_equal(ours, theirs)  # bit-identical: same resize, same float32 arithmetic


@pytest.mark.parametrize(
    "width, height", [(300, 700), (1001, 333), (257, 257), (256, 256), (224, 224), (225, 513)]
)
def test_resize_rounding_and_crop_offsets_follow_torchvision(width: int, height: int) -> None:
    pixels = np.random.default_rng(width * height).integers(0, 256, (height, width, 3), np.uint8)

    for image in (Image.fromarray(pixels), Image.fromarray(pixels[..., 1])):
        assert_equal_to_torchvision(center_crop(image), torchvision_center(image))
        assert_equal_to_torchvision(ten_crop(image), torchvision_tencrop(image))


def test_preprocess_chooses_one_crop_or_ten() -> None:
    image = Image.new("RGB", (300, 260), (10, 120, 240))

    assert preprocess(image, tencrop=False).shape == (1, 3, 224, 224)
    assert preprocess(image, tencrop=True).shape == (10, 3, 224, 224)


def test_a_grayscale_image_is_converted_like_the_training_code() -> None:
    gray = Image.fromarray(np.arange(300 * 280, dtype=np.uint32).reshape(280, 300).astype(np.uint8))

    assert np.array_equal(center_crop(gray), center_crop(gray.convert("RGB")))
    assert np.array_equal(ten_crop(gray), ten_crop(gray.convert("RGB")))
    assert_equal_to_torchvision(center_crop(gray), torchvision_center(gray))


GREY = Image.fromarray(np.random.default_rng(1).integers(0, 256, (300, 260), np.uint8))
COLOUR = Image.fromarray(np.random.default_rng(2).integers(0, 256, (300, 260, 3), np.uint8))


@pytest.mark.parametrize(
    "image, mode",
    [
        (GREY, "L"),
        (GREY.convert("1"), "L"),
        (GREY.convert("LA"), "L"),
        (COLOUR, "RGB"),
        (COLOUR.convert("RGBA"), "RGB"),
        (COLOUR.convert("P"), "RGB"),
        (COLOUR.convert("CMYK"), "RGB"),
        (GREY.convert("RGB"), "RGB"),  # grey pixels in an RGB file stay RGB: no guessing
    ],
    ids=["L", "1", "LA", "RGB", "RGBA", "P", "CMYK", "grey-RGB"],
)
def test_greyscale_stays_l_until_the_resize_and_colour_becomes_rgb(
    image: Image.Image, mode: str
) -> None:
    assert to_grey_or_rgb(image).mode == mode
    assert open_image(tiff_bytes(image)).mode == mode
    assert np.array_equal(np.asarray(to_rgb(image)), np.asarray(image.convert("RGB")))
    assert_equal_to_torchvision(preprocess(image, tencrop=False), torchvision_center(image))
    assert_equal_to_torchvision(preprocess(image, tencrop=True), torchvision_tencrop(image))


@NO_SAMPLES
def test_it_opens_bytes_paths_and_files_alike() -> None:
    path = SAMPLE_PNGS[0]
    from_bytes = open_image(path.read_bytes())

    with path.open("rb") as file:
        from_file = open_image(file)
    for image in (open_image(path), open_image(str(path)), from_file):
        assert image.mode == "L"
        assert np.array_equal(np.asarray(image), np.asarray(from_bytes))


def test_it_refuses_bytes_that_are_not_an_image() -> None:
    with pytest.raises(ImageError, match="not a readable image: unknown or unsupported format"):
        open_image(b"%PDF-1.7 this is a report, not an X-ray")


def test_it_refuses_an_empty_upload() -> None:
    with pytest.raises(ImageError, match="not a readable image"):
        open_image(b"")


@NO_SAMPLES
def test_it_refuses_a_truncated_png() -> None:
    content = SAMPLE_PNGS[0].read_bytes()

    with pytest.raises(ImageError, match="not a readable image: truncated or corrupt PNG"):
        open_image(content[: len(content) // 2])


def test_it_refuses_an_image_over_the_pixel_limit_before_decoding() -> None:
    # 8000x8000 = 64 megapixels, with pixel data whose decoding fails: the limit answers first.
    content = png_claiming_size(8000, 8000)
    with pytest.raises(ImageError, match="truncated or corrupt PNG"):
        open_image(content, budget=ImageBudget(max_pixels=100_000_000))

    with pytest.raises(ImageError, match=r"too large to decode: 8000x8000 = 64,000,000 pixels"):
        open_image(content)


def test_the_pixel_limit_can_be_lowered() -> None:
    content = png_bytes(Image.new("L", (100, 100)))

    with pytest.raises(ImageError, match="limit is 9,999"):
        open_image(content, budget=ImageBudget(max_pixels=9_999))
    assert open_image(content, budget=ImageBudget(max_pixels=10_000)).size == (100, 100)


# A row of a few values: a shape the image budget refuses for uploads, allowed here to test values.
ONE_ROW = ImageBudget(min_side=1, max_aspect_ratio=5, max_resized_pixels=256 * 256 * 5)


def test_a_16_bit_png_is_scaled_to_8_bits_not_clipped() -> None:
    values = np.array([[0, 128, 129, 30000, 65535]], dtype=np.uint16)
    content = png_bytes(Image.fromarray(values))
    assert Image.open(io.BytesIO(content)).mode == "I;16"

    image = open_image(content, budget=ONE_ROW)

    assert image.mode == "L"
    assert np.asarray(image)[0].tolist() == [0, 0, 1, 117, 255]
    assert np.array_equal(np.asarray(to_rgb(Image.open(io.BytesIO(content))))[0, :, 0],
                          np.asarray(image)[0])


@NO_SAMPLES
def test_a_16_bit_copy_of_a_sample_gives_the_same_crops_as_the_8_bit_original() -> None:
    original = Image.open(SAMPLE_PNGS[-1])
    sixteen_bit = Image.fromarray(np.asarray(original.convert("L"), dtype=np.uint16) * 257)

    image = open_image(png_bytes(sixteen_bit))

    assert image.mode == "L"
    assert np.array_equal(center_crop(image), center_crop(open_image(SAMPLE_PNGS[-1])))
    assert_equal_to_torchvision(ten_crop(image), torchvision_tencrop(original))


def test_32_bit_integer_and_float_images_are_scaled_too() -> None:
    integer = Image.fromarray(np.array([[0, 257, 65535]], dtype=np.int32))
    floating = Image.fromarray(np.array([[-1.0, 0.0, 1.0]], dtype=np.float32))

    assert np.asarray(open_image(tiff_bytes(integer), budget=ONE_ROW))[0].tolist() == [0, 1, 255]
    assert np.asarray(open_image(tiff_bytes(floating), budget=ONE_ROW))[0].tolist() == [0, 128, 255]
    assert np.asarray(to_rgb(floating))[0, :, 0].tolist() == [0, 128, 255]


def tiff_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="TIFF")
    return buffer.getvalue()


def test_preprocessing_never_imports_torch() -> None:
    code = "import sys, inference.imaging.preprocessing; sys.exit('torch' in sys.modules)"

    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0
