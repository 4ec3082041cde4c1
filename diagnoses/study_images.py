"""An upload's image decoded as the settings say: in a child process with memory and CPU limits,
under the image budget. The upload, the worker's fallback and the renderings all decode here."""

from django.conf import settings

from inference.imaging.isolation import (
    DecodeLimits,
    read_study_image_isolated,
    read_study_upload_isolated,
)
from inference.imaging.study_image import StudyImage, StudyUpload


def study_image_read(content: bytes) -> StudyImage:
    """The image and facts of an upload; ImageError (a subclass says which) if it is refused."""
    return read_study_image_isolated(content, limits=_decode_limits())


def study_upload_read(content: bytes) -> StudyUpload:
    """The facts and resized copy of an upload, as `study_image_read` refuses it; the decoded
    image itself stays in the decoding child (an upload needs only the copy)."""
    return read_study_upload_isolated(content, limits=_decode_limits())


def _decode_limits() -> DecodeLimits:
    cpu_seconds = settings.STUDY_DECODE_CPU_S
    return DecodeLimits(memory_bytes=settings.STUDY_DECODE_MEMORY_MB * 2**20,
                        cpu_seconds=cpu_seconds, wall_seconds=cpu_seconds * 1.5 + 5)
