"""A study's thumbnail for the admin's list: a small PNG rendered on request, from the resized copy
kept at upload (256 pixels: cheap to read) or, for a study without one, from
renderings.study_display_image."""

from io import BytesIO

from PIL import Image

from diagnoses import renderings
from diagnoses.models import Study
from inference.preprocessing import ImageError, to_rgb
from inference.studies import read_resized_copy

THUMBNAIL_SIDE = 96


def study_thumbnail_png(study: Study) -> bytes:
    image = _resized_copy(study)
    if image is None:
        content, _ = renderings.study_display_image(study)
        image = Image.open(BytesIO(content))
        image.draft(image.mode, (THUMBNAIL_SIDE * 2, THUMBNAIL_SIDE * 2))  # JPEG: decode smaller
    image = to_rgb(image)
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    output = BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


def _resized_copy(study: Study) -> Image.Image | None:
    if not study.resized_image.name:
        return None
    try:
        with study.resized_image.open("rb") as stored:
            return read_resized_copy(stored.read())
    except (OSError, ImageError):
        return None
