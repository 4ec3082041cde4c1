"""Pictures derived from a study, rendered once and kept in the private study storage:
the study as a PNG a browser can show (DICOM is not), and per-finding heatmap overlays."""

import json
from io import BytesIO

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from diagnoses.models import Prediction, Study
from diagnoses.study_images import study_image_read
from inference.findings import FINDINGS
from inference.imaging.heatmaps import cam_box, heatmap_layer, heatmap_png
from inference.imaging.preprocessing import CROP_SIZE, RESIZE_SHORTER_SIDE
from inference.imaging.secondary_capture import secondary_capture

BROWSER_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}
DISPLAY_MAX_SIDE = 2048


def study_display_image(study: Study) -> tuple[bytes, str]:
    """The study's image as the browser gets it: PNG and JPEG as uploaded, DICOM as a PNG."""
    if study.image_format in BROWSER_FORMATS:
        with study.image.open("rb") as stored:
            return stored.read(), BROWSER_FORMATS[study.image_format]
    return _cached(f"renderings/{study.pk}/display.png", lambda: _display_png(study)), "image/png"


def study_viewer_source(study: Study) -> bytes:
    """The study as the viewer reads it, always DICOM: a DICOM upload as stored (its own pixel
    data and window), a PNG or JPEG as a Secondary Capture of its full-resolution pixels."""
    if study.image_format not in BROWSER_FORMATS:
        with study.image.open("rb") as stored:
            return stored.read()
    return _cached(f"renderings/{study.pk}/viewer.dcm",
                   lambda: secondary_capture(_study_image(study)))


def study_model_crop(study: Study) -> dict:
    """Where the model looked, in the study's own pixels: the box its heatmaps cover (the centre
    crop of the preprocessing, `cam_box`), with the image size it is measured on."""
    def render() -> bytes:
        width, height = _study_image(study).size
        left, top, right, bottom = cam_box(width, height)
        return json.dumps({
            "image_width": width, "image_height": height,
            "left": left, "top": top, "right": right, "bottom": bottom,
            "resize_shorter_side": RESIZE_SHORTER_SIDE, "crop_size": CROP_SIZE,
        }).encode()

    return json.loads(_cached(f"renderings/{study.pk}/model-crop.json", render))


def heatmap_overlay_png(prediction: Prediction, finding: str) -> bytes:
    index = FINDINGS.index(finding)
    return _cached(
        f"renderings/{prediction.study_id}/heatmap-{prediction.pk}-{index}.png",
        lambda: heatmap_png(_study_image(prediction.study), _as_array(prediction.heatmaps[index])),
    )


def heatmap_layer_png(prediction: Prediction, finding: str) -> bytes:
    """The heat alone, transparent elsewhere, the size of the displayed image: the page lays it
    over the X-ray with an opacity the reader chooses."""
    index = FINDINGS.index(finding)

    def render() -> bytes:
        size = _study_image(prediction.study).size
        layer = heatmap_layer(size, _as_array(prediction.heatmaps[index]))
        output = BytesIO()
        layer.save(output, format="PNG")
        return output.getvalue()

    return _cached(f"renderings/{prediction.study_id}/layer-{prediction.pk}-{index}.png", render)


def _display_png(study: Study) -> bytes:
    image = _study_image(study)
    image.thumbnail((DISPLAY_MAX_SIDE, DISPLAY_MAX_SIDE))
    output = BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


def _study_image(study: Study):
    with study.image.open("rb") as stored:
        return study_image_read(stored.read()).image


def _as_array(cam) -> np.ndarray:
    return np.asarray(cam, dtype=np.float32)


def _cached(name: str, render) -> bytes:
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as cached:
            return cached.read()
    content = render()
    default_storage.save(name, ContentFile(content))
    return content
