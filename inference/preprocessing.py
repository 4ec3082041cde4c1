"""Image bytes -> the float32 batch CheXNet was trained on. Pillow and NumPy only, no torch.

Reproduces the training transforms of arnoweng/CheXNet: `convert("RGB")`, torchvision `Resize(256)`
(shorter side, PIL bilinear), `CenterCrop(224)` or `TenCrop(224)`, `ToTensor`, `Normalize`.
The image is resized once; crops are slices of one normalised array. EXIF orientation is not
applied, as torchvision does not apply it either.
"""

import io
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 50_000_000
RESIZE_SHORTER_SIDE = 256
CROP_SIZE = 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
PREPROCESSING_NAME = "resize256-crop224-imagenet-norm"

_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
_SIXTEEN_BIT_MAX = 65535


class ImageError(ValueError):
    """The upload is not an image we can read, or is too large to decode."""


def open_image(
    source: bytes | str | Path | BinaryIO, *, max_pixels: int = MAX_PIXELS
) -> Image.Image:
    """Decode an image and convert it to RGB the way the training code did.

    The pixel count is checked from the header, before anything is decoded.
    """
    fp = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(fp)
    except UnidentifiedImageError as error:
        raise ImageError("not a readable image: unknown or unsupported format") from error
    except Image.DecompressionBombError as error:
        raise ImageError(f"image too large to decode: {error}") from error
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise ImageError(
            f"image too large to decode: {width}x{height} = {width * height:,} pixels, "
            f"the limit is {max_pixels:,}"
        )
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        image.close()
        raise ImageError(
            f"not a readable image: truncated or corrupt {image.format}: {error}"
        ) from error
    return to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    """`convert("RGB")`, except that 16-bit grayscale is scaled to 8 bits instead of clipped.

    Pillow's own conversion clips every value above 255 to white. 16-bit data ('I;16*' modes, or
    'I' holding values within 0..65535) is scaled by its full range (v / 257, rounded); 'F' and
    other 'I' data, whose bit depth says nothing, is stretched from its minimum to its maximum.
    """
    if image.mode == "RGB":
        return image
    if image.mode in _SIXTEEN_BIT_MODES or image.mode == "F":
        image = Image.fromarray(_eight_bit(np.asarray(image)))
    return image.convert("RGB")


def _eight_bit(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "iu" and values.min() >= 0 and values.max() <= _SIXTEEN_BIT_MAX:
        return ((values.astype(np.uint32) + 128) // 257).astype(np.uint8)
    values = values.astype(np.float32)
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.rint((values - low) * np.float32(255.0 / (high - low))).astype(np.uint8)


def center_crop(image: Image.Image) -> np.ndarray:
    """[1,3,224,224] float32: torchvision Resize(256), CenterCrop(224), ToTensor, Normalize."""
    normalised = _resized_and_normalised(image)
    top, left = _center_offsets(normalised.shape[0], normalised.shape[1])
    return _batch([_crop(normalised, top, left)])


def ten_crop(image: Image.Image) -> np.ndarray:
    """[10,3,224,224] float32 in torchvision TenCrop order: tl, tr, bl, br, centre, then the same
    five crops of the horizontally mirrored image."""
    normalised = _resized_and_normalised(image)
    mirrored = normalised[:, ::-1]
    return _batch(_five_crops(normalised) + _five_crops(mirrored))


def preprocess(image: Image.Image, *, tencrop: bool) -> np.ndarray:
    return ten_crop(image) if tencrop else center_crop(image)


def resized_size(width: int, height: int) -> tuple[int, int]:
    """torchvision's output size for Resize(256): shorter side 256, longer side truncated."""
    short, long = min(width, height), max(width, height)
    new_long = int(RESIZE_SHORTER_SIDE * long / short)
    if width <= height:
        return RESIZE_SHORTER_SIDE, new_long
    return new_long, RESIZE_SHORTER_SIDE


def _resized_and_normalised(image: Image.Image) -> np.ndarray:
    """[H,W,3] float32 with ToTensor's and Normalize's arithmetic: x/255, then (x-mean)/std."""
    image = to_rgb(image)
    size = resized_size(*image.size)
    if size != image.size:
        image = image.resize(size, Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.uint8).astype(np.float32) / np.float32(255)
    return (pixels - MEAN) / STD


def _center_offsets(height: int, width: int) -> tuple[int, int]:
    return int(round((height - CROP_SIZE) / 2.0)), int(round((width - CROP_SIZE) / 2.0))


def _five_crops(normalised: np.ndarray) -> list[np.ndarray]:
    height, width = normalised.shape[:2]
    bottom, right = height - CROP_SIZE, width - CROP_SIZE
    corners = [(0, 0), (0, right), (bottom, 0), (bottom, right)]
    return [_crop(normalised, top, left) for top, left in corners] + [
        _crop(normalised, *_center_offsets(height, width))
    ]


def _crop(normalised: np.ndarray, top: int, left: int) -> np.ndarray:
    return normalised[top : top + CROP_SIZE, left : left + CROP_SIZE]


def _batch(crops: list[np.ndarray]) -> np.ndarray:
    """HWC crops -> contiguous NCHW float32 batch."""
    return np.ascontiguousarray(np.stack(crops).transpose(0, 3, 1, 2))
