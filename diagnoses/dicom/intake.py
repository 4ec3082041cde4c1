"""Writes: an instance a DICOM node sent (C-STORE or STOW-RS) becomes a study.

Validation, storage and the diagnosis queue are services.study_create's, as for an upload (image
budget, decoding in a child process, header text limits, plausibility warnings); this checks the
instance's identity from its header first (an accepted SOP class, a SOP Instance UID), and adds what
DICOM knows of it (UIDs, calling AE, body part) in the same transaction. A re-sent instance (the
same SOP Instance UID) gets the study it made the first time, never a second one."""

import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from diagnoses import services
from diagnoses.models import Study
from inference.imaging.dicom import (
    DicomError,
    DicomInstance,
    UnacceptedSopClass,
    read_dicom_instance,
)

logger = logging.getLogger(__name__)

# DICOM failure statuses (C-STORE Status, STOW-RS Failure Reason), and which answers each refusal
OUT_OF_RESOURCES = 0xA700  # too large, or our fault (database): the sender may try again
SOP_CLASS_NOT_SUPPORTED = 0x0122  # not CR or DX
CANNOT_UNDERSTAND = 0xC000  # not a radiograph we read: undecodable, truncated, a CT as CR
REFUSAL_STATUS = {
    "too_large": OUT_OF_RESOURCES,
    "sop_class": SOP_CLASS_NOT_SUPPORTED,
    "unsupported_format": CANNOT_UNDERSTAND,
    "not_an_image": CANNOT_UNDERSTAND,
    "empty": CANNOT_UNDERSTAND,
}
# The user a C-STORE study is recorded as uploaded by: no password, no role, never logs in.
RECEIVER_USERNAME = "dicom-receiver"


class InstanceRefused(Exception):
    """The instance is not taken. The message says why, fit to send back to the node: it never
    quotes a header value (patient data). `code`: sop_class, not_an_image, unsupported_format,
    too_large, empty (study_create's codes)."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Received:
    study: Study
    replayed: bool  # the same SOP Instance UID was received before: its study, nothing new


def dicom_instance_receive(*, content: bytes, received_by=None, calling_ae_title: str = "",
                           ) -> Received:
    """Store an instance as a study (committed when this returns) or raise InstanceRefused.
    `received_by`: the STOW-RS user; None for C-STORE (the receiver user)."""
    instance = _identity(content)
    earlier = Study.objects.filter(sop_instance_uid=instance.sop_instance_uid).first()
    if earlier is not None:
        return Received(earlier, replayed=True)
    upload = SimpleUploadedFile(f"{instance.sop_instance_uid}.dcm", content,
                                content_type="application/dicom")
    study = None
    try:
        with transaction.atomic():
            study = services.study_create(uploaded_by=received_by or _receiver(),
                                          image_file=upload)
            Study.objects.filter(pk=study.pk).update(**_dicom_fields(instance, calling_ae_title))
    except ValidationError as refused:
        raise InstanceRefused(" ".join(refused.messages), code=refused.code or "not_an_image")
    except IntegrityError:
        if study is None:
            raise
        services.study_files_delete(study)  # another association stored it first
        earlier = Study.objects.filter(sop_instance_uid=instance.sop_instance_uid).first()
        if earlier is None:
            raise
        return Received(earlier, replayed=True)
    for name, value in _dicom_fields(instance, calling_ae_title).items():
        setattr(study, name, value)
    logger.info("study %s received over DICOM from %s", study.pk, calling_ae_title or "STOW-RS")
    return Received(study, replayed=False)


def _identity(content: bytes) -> DicomInstance:
    if not content:
        raise InstanceRefused("The instance is empty.", code="empty")
    try:
        return read_dicom_instance(content)
    except UnacceptedSopClass as error:
        raise InstanceRefused(str(error), code="sop_class") from None
    except DicomError as error:
        raise InstanceRefused(str(error), code="not_an_image") from None


def _dicom_fields(instance: DicomInstance, calling_ae_title: str) -> dict:
    return {
        "source": Study.Source.DICOM,
        "series_instance_uid": instance.series_instance_uid,
        "sop_instance_uid": instance.sop_instance_uid,
        "calling_ae_title": calling_ae_title[:16],
    }


def _receiver():
    user, created = get_user_model().objects.get_or_create(username=RECEIVER_USERNAME)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
