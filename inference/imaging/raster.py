"""A raster upload (PNG, JPEG, ...) decoded under the image budget.

Pillow reads the header lazily: the size is checked against the budget before any pixel is decoded,
and every failure of a decoder, whatever it raises, becomes an ImageError naming the problem.
"""

import io
import warnings
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from inference.imaging.budget import IMAGE_BUDGET, ImageBudget, ImageOverBudget
from inference.imaging.preprocessing import ImageError, UnsupportedImage, to_grey_or_rgb

_REASON_LENGTH = 200
_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}


def open_image(
    source: bytes | str | Path | BinaryIO, *, budget: ImageBudget = IMAGE_BUDGET
) -> Image.Image:
    """Decode an image: 'L' for greyscale, 'RGB' otherwise (see `to_grey_or_rgb`)."""
    return read_raster(source, budget=budget)[0]


def read_raster(
    source: bytes | str | Path | BinaryIO,
    *,
    budget: ImageBudget = IMAGE_BUDGET,
    formats: tuple[str, ...] | None = None,
) -> tuple[Image.Image, str]:
    """The decoded image ('L' or 'RGB') and its format as Pillow names it ("PNG", "JPEG", ...).

    The header is checked against BUDGET, and against FORMATS when given, before anything is
    decoded. Greyscale stays 'L' until after the resize; the model sees it as RGB with three equal
    channels, exactly as `convert("RGB")` makes it.
    """
    fp = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(fp)
    except UnidentifiedImageError:
        raise _unidentified(source) from None
    except Image.DecompressionBombError as error:
        raise ImageOverBudget(f"image too large to decode: {error}") from None
    except Exception as error:  # a header no decoder should have accepted
        raise ImageError(f"not a readable image: corrupt header ({_reason(error)})") from None
    try:
        return _decoded(image, budget, formats)
    except ImageError:
        image.close()
        raise


def _decoded(
    image: Image.Image, budget: ImageBudget, formats: tuple[str, ...] | None
) -> tuple[Image.Image, str]:
    image_format = image.format or "unknown"
    if formats is not None and image_format not in formats:
        raise UnsupportedImage(
            f"{image_format} images are not accepted; upload a "
            f"{', '.join(formats)} or DICOM chest radiograph."
        )
    width, height = image.size
    budget.check(width, height, samples=len(image.getbands()),
                 bytes_per_sample=4 if _wide(image) else 1)
    try:
        image.load()
        return to_grey_or_rgb(image), image_format
    except MemoryError:
        raise ImageOverBudget("image too large to decode: it ran out of memory") from None
    except Exception as error:  # whatever the decoder raises: the file is broken
        raise ImageError(
            f"not a readable image: truncated or corrupt {image_format}: {_reason(error)}"
        ) from None


def _unidentified(source) -> ImageError:
    """A PNG or JPEG signature that Pillow did not take is a broken file, not another format."""
    head = source[:8] if isinstance(source, bytes) else b""
    for signature, image_format in _SIGNATURES.items():
        if head.startswith(signature):
            return ImageError(f"not a readable image: corrupt {image_format} header "
                              "(a damaged chunk, marker or checksum)")
    return ImageError("not a readable image: unknown or unsupported format")


def _wide(image: Image.Image) -> bool:
    """More than 8 bits a sample (16-bit greyscale, 32-bit integer or float)."""
    return image.mode.startswith("I") or image.mode == "F"


def _reason(error: Exception) -> str:
    message = str(error).strip()
    reason = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return reason[:_REASON_LENGTH]
