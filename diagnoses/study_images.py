"""An upload's image decoded as the settings say: in a child process with memory and CPU limits,
under the image budget. The upload, the worker's fallback and the renderings all decode here."""

from django.conf import settings

from inference.imaging.isolation import DecodeLimits, read_study_image_isolated
from inference.imaging.study_image import StudyImage


def study_image_read(content: bytes) -> StudyImage:
    """The image and facts of an upload; ImageError (a subclass says which) if it is refused."""
    cpu_seconds = settings.STUDY_DECODE_CPU_S
    limits = DecodeLimits(memory_bytes=settings.STUDY_DECODE_MEMORY_MB * 2**20,
                          cpu_seconds=cpu_seconds, wall_seconds=cpu_seconds * 1.5 + 5)
    return read_study_image_isolated(content, limits=limits)
