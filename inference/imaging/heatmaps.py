"""A class activation map drawn over the original image, where the model looked.

The 7x7 map covers the 224x224 centre crop of the image resized to 256 on its shorter side; undoing
the crop and the resize places it on the original image. Outside that box nothing is drawn. The map
is normalised over its own min..max, upsampled bilinearly (pixel centres aligned, edges clamped),
coloured with an 'inferno'-like lookup table and composited with an alpha that rises with the value,
so cold areas stay transparent.
"""

import io

import numpy as np
from PIL import Image

from inference.imaging.preprocessing import CROP_SIZE, _center_offsets, resized_size, to_rgb

CAM_SIZE = 7
# matplotlib's 'inferno' at 0, 0.1, ..., 1 (perceptually uniform, readable in greyscale too)
_INFERNO_ANCHORS = np.array(
    [
        (0, 0, 4), (22, 11, 57), (66, 10, 104), (106, 23, 110), (147, 38, 103), (188, 55, 84),
        (221, 81, 58), (243, 120, 25), (252, 165, 10), (246, 215, 70), (252, 255, 164),
    ],
    dtype=np.float32,
)
COLORMAP = np.stack(
    [
        np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_INFERNO_ANCHORS)), channel)
        for channel in _INFERNO_ANCHORS.T
    ],
    axis=1,
).astype(np.float32)  # [256, 3], 0..255
TRANSPARENT_BELOW = 0.2  # normalised map values under this are not drawn at all


def cam_box(width: int, height: int) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the region the map covers, in original-image pixels."""
    resized_width, resized_height = resized_size(width, height)
    top, left = _center_offsets(resized_height, resized_width)
    scale_x, scale_y = width / resized_width, height / resized_height
    return (
        left * scale_x,
        top * scale_y,
        (left + CROP_SIZE) * scale_x,
        (top + CROP_SIZE) * scale_y,
    )


def heatmap_overlay(
    image: Image.Image, cam: np.ndarray, *, opacity: float = 0.45, max_side: int = 1024
) -> Image.Image:
    """IMAGE (shrunk to MAX_SIDE if larger) in RGB with CAM drawn over its centre crop."""
    cam = np.asarray(cam, dtype=np.float64)
    if cam.shape != (CAM_SIZE, CAM_SIZE) or not np.all(np.isfinite(cam)):
        raise ValueError(f"a class activation map must be {CAM_SIZE}x{CAM_SIZE} finite values")
    box = cam_box(*image.size)
    background = _shrunk(to_rgb(image), max_side)
    scale = background.width / image.width, background.height / image.height
    heat = _upsampled(_normalised(cam), background.size, box, scale)  # NaN outside the box
    ramp = np.clip((heat - TRANSPARENT_BELOW) / (1 - TRANSPARENT_BELOW), 0, 1)
    alpha = np.nan_to_num(np.float32(opacity) * ramp, nan=0.0)[..., None]
    colours = COLORMAP[np.rint(np.nan_to_num(heat) * 255).astype(np.uint8)]
    pixels = np.asarray(background, dtype=np.float32)
    blended = pixels + (colours - pixels) * alpha
    return Image.fromarray(np.rint(blended).astype(np.uint8))


def heatmap_layer(
    size: tuple[int, int], cam: np.ndarray, *, max_side: int = 1024
) -> Image.Image:
    """The heat alone as RGBA for an image of SIZE (shrunk to MAX_SIDE): transparent outside the
    crop the map covers and where the map is low. A viewer lays it over the image at the same
    displayed size and picks its own opacity."""
    cam = np.asarray(cam, dtype=np.float64)
    if cam.shape != (CAM_SIZE, CAM_SIZE) or not np.all(np.isfinite(cam)):
        raise ValueError(f"a class activation map must be {CAM_SIZE}x{CAM_SIZE} finite values")
    width, height = size
    factor = min(1.0, max_side / max(width, height))
    layer_size = (max(1, round(width * factor)), max(1, round(height * factor)))
    scale = layer_size[0] / width, layer_size[1] / height
    heat = _upsampled(_normalised(cam), layer_size, cam_box(width, height), scale)
    ramp = np.clip((heat - TRANSPARENT_BELOW) / (1 - TRANSPARENT_BELOW), 0, 1)
    alpha = np.rint(np.nan_to_num(ramp, nan=0.0) * 255).astype(np.uint8)
    colours = COLORMAP[np.rint(np.nan_to_num(heat) * 255).astype(np.uint8)]
    rgba = np.dstack([np.rint(colours).astype(np.uint8), alpha])
    return Image.fromarray(rgba, mode="RGBA")


def heatmap_png(image: Image.Image, cam: np.ndarray, **options: float) -> bytes:
    buffer = io.BytesIO()
    heatmap_overlay(image, cam, **options).save(buffer, format="PNG")
    return buffer.getvalue()


def _normalised(cam: np.ndarray) -> np.ndarray:
    low, high = cam.min(), cam.max()
    return (cam - low) / (high - low) if high > low else np.zeros_like(cam)


def _shrunk(image: Image.Image, max_side: int) -> Image.Image:
    if max(image.size) <= max_side:
        return image
    factor = max_side / max(image.size)
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def _upsampled(
    cam: np.ndarray,
    size: tuple[int, int],
    box: tuple[float, float, float, float],
    scale: tuple[float, float],
) -> np.ndarray:
    """[H, W] bilinear upsampling of CAM onto BOX (original pixels) of an image of SIZE drawn at
    SCALE; NaN outside the box."""
    left, top, right, bottom = box
    columns = _interpolation_weights(size[0], left * scale[0], right * scale[0])
    rows = _interpolation_weights(size[1], top * scale[1], bottom * scale[1])
    return (rows @ cam @ columns.T).astype(np.float32)


def _interpolation_weights(length: int, start: float, stop: float) -> np.ndarray:
    """[length, 7]: each output pixel's weights on the map's cells; all-NaN rows outside."""
    centres = np.arange(length) + 0.5
    position = (centres - start) / (stop - start) * CAM_SIZE - 0.5  # in map cells
    cells = np.arange(CAM_SIZE)
    weights = np.stack([np.interp(position, cells, np.eye(CAM_SIZE)[k]) for k in cells], axis=1)
    weights[(centres < start) | (centres >= stop)] = np.nan
    return weights
