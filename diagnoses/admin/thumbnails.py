"""A study's thumbnail for the admin's list: a small PNG of the displayed image, rendered on
request (not cached) from renderings.study_display_image."""

from io import BytesIO

from PIL import Image

from diagnoses import renderings
from diagnoses.models import Study
from inference.preprocessing import to_rgb

THUMBNAIL_SIDE = 96


def study_thumbnail_png(study: Study) -> bytes:
    content, _ = renderings.study_display_image(study)
    image = Image.open(BytesIO(content))
    image.draft(image.mode, (THUMBNAIL_SIDE * 2, THUMBNAIL_SIDE * 2))  # JPEG: decode smaller
    image = to_rgb(image)
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    output = BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()
