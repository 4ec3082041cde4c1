"""Reasons an upload is unlikely to be a frontal chest radiograph, in words for the uploader.

These are warnings, not refusals: the model still runs, but its findings mean little for a colour
photograph, a strip cut from a larger image, or a thumbnail.
"""

import numpy as np
from PIL import Image

from inference.imaging.preprocessing import RESIZE_SHORTER_SIDE

COLOUR_DIFFERENCE_LIMIT = 10.0  # grey levels: mean |R-G|, |G-B|, |R-B| on a downscaled copy
ASPECT_RATIO_LIMIT = 2.0  # longer side / shorter side
SMALLEST_SHORTER_SIDE = RESIZE_SHORTER_SIDE
_MEASURED_SIDE = 256


def frontal_radiograph_warnings(image: Image.Image) -> list[str]:
    """Human-readable warnings; none for a greyscale, roughly square image of 256 px or more."""
    width, height = image.size
    short, long = min(width, height), max(width, height)
    warnings = []
    difference = colour_difference(image)
    if difference > COLOUR_DIFFERENCE_LIMIT:
        warnings.append(
            f"The image is in colour (its colour channels differ by {difference:.0f} grey levels "
            "on average); chest radiographs are greyscale, so this may be a photograph rather "
            "than an X-ray."
        )
    if short == 0 or long / short > ASPECT_RATIO_LIMIT:
        warnings.append(
            f"The image is {width}x{height} pixels, far from square; a frontal chest radiograph "
            "is close to square, and the model only looks at a square from the centre, so much "
            "of this image is cut off."
        )
    if short < SMALLEST_SHORTER_SIDE:
        warnings.append(
            f"The image is only {width}x{height} pixels; it will be upscaled to "
            f"{RESIZE_SHORTER_SIDE} pixels on its shorter side, so fine detail the model looks "
            "for is missing."
        )
    return warnings


def colour_difference(image: Image.Image) -> float:
    """Mean absolute difference between colour channels, in grey levels; 0 for greyscale modes."""
    if image.mode == "P":
        image = image.convert("RGBA")
    if len([band for band in image.getbands() if band != "A"]) < 3:
        return 0.0
    factor = max(1, max(image.size) // _MEASURED_SIDE)
    small = image.convert("RGB").reduce(factor)
    red, green, blue = np.moveaxis(np.asarray(small, dtype=np.int16), -1, 0)
    differences = np.abs(red - green) + np.abs(green - blue) + np.abs(red - blue)
    return float(differences.mean() / 3.0)
