"""A study's thumbnail for the admin's list: a small PNG rendered on request, from the resized copy
kept at upload (256 pixels: cheap to read) or, for a study without one, from
renderings.study_display_image."""

from io import BytesIO

from PIL import Image

from diagnoses import renderings
from diagnoses.models import Study
from diagnoses.services import study_resized_copy
from inference.imaging.preprocessing import to_rgb

THUMBNAIL_SIDE = 96


def study_thumbnail_png(study: Study) -> bytes:
    image = study_resized_copy(study)
    if image is None:
        content, _ = renderings.study_display_image(study)
        image = Image.open(BytesIO(content))
        image.draft(image.mode, (THUMBNAIL_SIDE * 2, THUMBNAIL_SIDE * 2))  # JPEG: decode smaller
    image = to_rgb(image)
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    output = BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()

