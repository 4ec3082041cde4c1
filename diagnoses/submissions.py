"""Writes: a study submitted through the API, with its callback URL and Idempotency-Key.

Validation and storage are services.study_create's; this adds the two API fields in the same
transaction, so the worker never sees the study without them. The same user sending the same key
again gets the first study back; the same key with a different submission is refused."""

import hashlib
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from diagnoses import services
from diagnoses.models import Study
from diagnoses.study_images import study_image_read
from inference.imaging.preprocessing import ImageError


class IdempotencyConflict(Exception):
    """The key was used before for a different submission."""


@dataclass(frozen=True)
class Submission:
    study: Study
    replayed: bool


def study_submit(
    *,
    uploaded_by,
    image_file: UploadedFile,
    patient_id: str = "",
    accession_number: str = "",
    notes: str = "",
    tencrop: bool = False,
    callback_url: str = "",
    idempotency_key: str = "",
    view_position: str = "",
    patient_age_years: float | None = None,
    confirm_patient_mismatch: bool = False,
) -> Submission:
    fields = {"patient_id": patient_id, "accession_number": accession_number, "notes": notes,
              "tencrop": tencrop, "callback_url": callback_url, "view_position": view_position,
              "patient_age_years": patient_age_years}
    if idempotency_key:
        earlier = _earlier(uploaded_by, idempotency_key)
        if earlier is not None:
            return _replay(earlier, image_file, fields)
    study = None
    try:
        with transaction.atomic():
            study = services.study_create(
                uploaded_by=uploaded_by, image_file=image_file, patient_id=patient_id,
                accession_number=accession_number, notes=notes, tencrop=tencrop,
                view_position=view_position, patient_age_years=patient_age_years,
                confirm_patient_mismatch=confirm_patient_mismatch,
            )
            Study.objects.filter(pk=study.pk).update(
                callback_url=callback_url, idempotency_key=idempotency_key
            )
    except IntegrityError:
        if study is None or not idempotency_key:
            raise
        # A concurrent request with the same key was first: nothing of this one is kept.
        services.study_files_delete(study)
        return _replay(_earlier(uploaded_by, idempotency_key), image_file, fields)
    study.callback_url, study.idempotency_key = callback_url, idempotency_key
    return Submission(study=study, replayed=False)


def _earlier(user, key: str) -> Study | None:
    return Study.objects.filter(uploaded_by=user, idempotency_key=key).first()


def _replay(study: Study, image_file: UploadedFile, fields: dict) -> Submission:
    image_file.seek(0)
    content = image_file.read()
    if hashlib.sha256(content).hexdigest() != study.image_sha256:
        raise IdempotencyConflict("a different file")
    different = [name for name, value in fields.items()
                 if _stored_value(study, name, value, content) != getattr(study, name)]
    if different:
        raise IdempotencyConflict(", ".join(different))
    return Submission(study=study, replayed=True)


def _stored_value(study: Study, name: str, given, content: bytes):
    """What study_create stores for a field: an empty identifier comes from the DICOM header;
    a DICOM file's view and age are its header's whatever was declared."""
    if name in ("view_position", "patient_age_years") and study.image_format == "DICOM":
        return getattr(study, name)
    if name in ("patient_id", "accession_number") and not given and study.image_format == "DICOM":
        try:
            dicom = study_image_read(content).dicom
        except ImageError:
            return given
        return getattr(dicom, name) if dicom else given
    return given
