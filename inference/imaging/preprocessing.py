"""Image bytes -> the float32 batch CheXNet was trained on. Pillow and NumPy only, no torch.

Reproduces the training transforms of arnoweng/CheXNet: `convert("RGB")`, torchvision `Resize(256)`
(shorter side, PIL bilinear), `CenterCrop(224)` or `TenCrop(224)`, `ToTensor`, `Normalize`, and
gives the same float32 values, bit for bit. Two things make it faster than torchvision:

- greyscale stays 'L' until after the resize; the model sees it as RGB with three equal channels,
  exactly as `convert("RGB")` makes it. Pillow resizes every channel independently with the same
  coefficients and `convert("RGB")` only repeats the grey value, so resizing one channel instead of
  three changes no value;
- crops are cut from the resized 8-bit image and only they are normalised (for TenCrop, the
  resized image once, its mirror being a view of it).

The image is resized once. EXIF orientation is not applied, as torchvision does not apply it either.
"""

import numpy as np
from PIL import Image

RESIZE_SHORTER_SIDE = 256
CROP_SIZE = 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
PREPROCESSING_NAME = "resize256-crop224-imagenet-norm"

_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
# convert("L") of these gives the grey value that convert("RGB") repeats in R, G and B
_GREY_MODES = {"1", "LA"}
_SIXTEEN_BIT_MAX = 65535


class ImageError(ValueError):
    """The upload is not an image we can read, or is too large to decode."""


class UnsupportedImage(ImageError):
    """A format or an encoding that is not accepted (GIF, TIFF, text, deflated DICOM, ...)."""


def to_grey_or_rgb(image: Image.Image) -> Image.Image:
    """'L' for a greyscale image, 'RGB' for anything else: what `preprocess` resizes.

    Greyscale ('L', '1', 'LA', and 16-bit, 'I' and 'F' data scaled to 8 bits as `to_rgb` says)
    stays 'L' until after the resize; the model sees it as RGB with three equal channels, exactly
    as `convert("RGB")` makes it. Other modes are converted to RGB.
    """
    if image.mode in ("L", "RGB"):
        return image
    if image.mode in _SIXTEEN_BIT_MODES or image.mode == "F":
        return Image.fromarray(_eight_bit(np.asarray(image)))
    if image.mode in _GREY_MODES:
        return image.convert("L")
    return image.convert("RGB")


def to_rgb(image: Image.Image) -> Image.Image:
    """`convert("RGB")`, except that 16-bit grayscale is scaled to 8 bits instead of clipped.

    Pillow's own conversion clips every value above 255 to white. 16-bit data ('I;16*' modes, or
    'I' holding values within 0..65535) is scaled by its full range (v / 257, rounded); 'F' and
    other 'I' data, whose bit depth says nothing, is stretched from its minimum to its maximum.
    """
    image = to_grey_or_rgb(image)
    return image if image.mode == "RGB" else image.convert("RGB")


def _eight_bit(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "iu" and values.min() >= 0 and values.max() <= _SIXTEEN_BIT_MAX:
        return ((values.astype(np.uint32) + 128) // 257).astype(np.uint8)
    values = values.astype(np.float32)
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.rint((values - low) * np.float32(255.0 / (high - low))).astype(np.uint8)


def center_crop(image: Image.Image) -> np.ndarray:
    """[1,3,224,224] float32: torchvision Resize(256), CenterCrop(224), ToTensor, Normalize.

    IMAGE may be 'L' (greyscale: three equal channels), 'RGB', or any mode `to_rgb` converts.
    """
    pixels = _resized_pixels(image)
    top, left = _center_offsets(pixels.shape[0], pixels.shape[1])
    return _normalised(_crop(pixels, top, left))[None]


def ten_crop(image: Image.Image) -> np.ndarray:
    """[10,3,224,224] float32 in torchvision TenCrop order: tl, tr, bl, br, centre, then the same
    five crops of the horizontally mirrored image. IMAGE as for `center_crop`."""
    normalised = _normalised(_resized_pixels(image))  # [3,H,W]
    mirrored = normalised[:, :, ::-1]
    return np.stack(_five_crops(normalised) + _five_crops(mirrored))


def preprocess(image: Image.Image, *, tencrop: bool) -> np.ndarray:
    """`ten_crop` or `center_crop` of an image in any mode: float32 [N,3,224,224], N = 10 or 1."""
    return ten_crop(image) if tencrop else center_crop(image)


def resized_size(width: int, height: int) -> tuple[int, int]:
    """torchvision's output size for Resize(256): shorter side 256, longer side truncated."""
    short, long = min(width, height), max(width, height)
    new_long = int(RESIZE_SHORTER_SIDE * long / short)
    if width <= height:
        return RESIZE_SHORTER_SIDE, new_long
    return new_long, RESIZE_SHORTER_SIDE


def resized(image: Image.Image) -> Image.Image:
    """torchvision's Resize(256), PIL bilinear, of an image in any mode: 'L' or 'RGB', shorter
    side 256. `preprocess` of the result gives the same batch as of IMAGE, bit for bit: it is
    already the size, so it is not resized again. The app keeps it, to skip a second decode."""
    image = to_grey_or_rgb(image)
    size = resized_size(*image.size)
    return image if size == image.size else image.resize(size, Image.Resampling.BILINEAR)


def _resized_pixels(image: Image.Image) -> np.ndarray:
    """uint8 [H,W] (greyscale) or [H,W,3]: `resized`'s pixels."""
    return np.asarray(resized(image), dtype=np.uint8)


def _normalised(pixels: np.ndarray) -> np.ndarray:
    """uint8 [H,W] or [H,W,3] -> C-contiguous float32 [3,H,W] with ToTensor's and Normalize's
    arithmetic, in their order: x/255, then (x-mean)/std. Grey gives three channels from one."""
    if pixels.ndim == 2:
        channels = pixels[None]  # broadcast to R, G and B below
    else:
        channels = np.ascontiguousarray(pixels.transpose(2, 0, 1))
    scaled = channels.astype(np.float32) / np.float32(255)
    return (scaled - MEAN[:, None, None]) / STD[:, None, None]


def _center_offsets(height: int, width: int) -> tuple[int, int]:
    return int(round((height - CROP_SIZE) / 2.0)), int(round((width - CROP_SIZE) / 2.0))


def _five_crops(normalised: np.ndarray) -> list[np.ndarray]:
    """[3,H,W] -> tl, tr, bl, br, centre [3,224,224] views."""
    height, width = normalised.shape[1:]
    bottom, right = height - CROP_SIZE, width - CROP_SIZE
    offsets = [(0, 0), (0, right), (bottom, 0), (bottom, right), _center_offsets(height, width)]
    return [normalised[:, top : top + CROP_SIZE, left : left + CROP_SIZE] for top, left in offsets]


def _crop(pixels: np.ndarray, top: int, left: int) -> np.ndarray:
    """[H,W(,3)] -> [224,224(,3)] view."""
    return pixels[top : top + CROP_SIZE, left : left + CROP_SIZE]
