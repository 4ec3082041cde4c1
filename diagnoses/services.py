"""Writes: accepting a study, claiming it for diagnosis, storing its prediction or its failure."""

import hashlib
import logging
import uuid
from io import BytesIO

from PIL import Image

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from diagnoses.model_server import model_server_client
from diagnoses.models import Finding, ModelVersion, Prediction, Study
from inference.client import GraphPipeError, ServerUnavailable
from inference.pipeline import Diagnosis, diagnose_image
from inference.preprocessing import ImageError, open_image

logger = logging.getLogger(__name__)

FILE_EXTENSIONS = {"PNG": "png", "JPEG": "jpg"}


class ModelServerUnavailable(Exception):
    """The model server could not be reached, timed out or was not ready: worth a retry."""


def study_create(
    *,
    uploaded_by,
    image_file: UploadedFile,
    patient_id: str = "",
    accession_number: str = "",
    notes: str = "",
    tencrop: bool = False,
) -> Study:
    """Validate an uploaded image, store it under a random name and queue its diagnosis."""
    content = _read_upload(image_file)
    image_format = _check_image(content)
    study = Study(
        image_sha256=hashlib.sha256(content).hexdigest(),
        image_format=image_format,
        original_filename=(image_file.name or "")[:255],
        patient_id=patient_id,
        accession_number=accession_number,
        notes=notes,
        tencrop=tencrop,
        uploaded_by=uploaded_by,
    )
    stored_name = f"{uuid.uuid4().hex}.{FILE_EXTENSIONS.get(image_format, 'img')}"
    try:
        with transaction.atomic():
            study.image.save(stored_name, ContentFile(content), save=False)
            study.save()
            transaction.on_commit(lambda: _queue_diagnosis(study.pk))
    except Exception:
        if study.image.name:
            study.image.storage.delete(study.image.name)
        raise
    logger.info("study %s accepted (%s, %d bytes)", study.pk, image_format, len(content))
    return study


def study_diagnose(*, study_id: uuid.UUID) -> None:
    """Claim a queued study, run it through the model server and store the outcome.

    A study that is not queued (already claimed by another worker, done or failed) is left alone,
    so a redelivered task does no duplicate work.
    """
    claimed = Study.objects.filter(pk=study_id, status=Study.Status.QUEUED).update(
        status=Study.Status.PROCESSING, started_at=timezone.now(), updated_at=timezone.now()
    )
    if not claimed:
        logger.info("study %s is not queued; nothing to do", study_id)
        return
    study = Study.objects.get(pk=study_id)
    try:
        with study.image.open("rb") as stored:
            image = open_image(stored.read())
        diagnosis = diagnose_image(image, model_server_client(), tencrop=study.tencrop)
    except ImageError as error:
        study_fail(study_id=study_id, reason=f"The image could not be read: {error}")
    except ServerUnavailable as error:
        _set_status(study_id, Study.Status.QUEUED)
        raise ModelServerUnavailable(str(error)) from error
    except GraphPipeError as error:
        study_fail(study_id=study_id, reason=f"The model server gave an unusable answer: {error}")
    except FileNotFoundError:
        study_fail(study_id=study_id, reason="The stored image file is missing.")
    else:
        prediction_store(study=study, diagnosis=diagnosis)


def prediction_store(*, study: Study, diagnosis: Diagnosis) -> Prediction:
    identity = diagnosis.model
    with transaction.atomic():
        model_version, _ = ModelVersion.objects.get_or_create(
            identity=identity.identity,
            defaults={
                "name": identity.name,
                "checkpoint_sha256": identity.checkpoint_sha256,
                "onnx_sha256": identity.onnx_sha256,
                "weights_verified": identity.weights_verified,
                "description": identity.description,
            },
        )
        prediction = Prediction.objects.create(
            study=study,
            model_version=model_version,
            preprocessing=diagnosis.preprocessing,
            heatmaps=diagnosis.heatmaps.round(6).tolist(),
            preprocessing_ms=diagnosis.preprocessing_ms,
            inference_ms=diagnosis.inference_ms,
        )
        Finding.objects.bulk_create(
            Finding(prediction=prediction, name=name, probability=probability)
            for name, probability in diagnosis.probabilities.items()
        )
        Study.objects.filter(pk=study.pk).update(
            status=Study.Status.DONE,
            failure_reason="",
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
    logger.info(
        "study %s done by model %s in %.0f ms",
        study.pk,
        model_version.short_identity,
        diagnosis.inference_ms,
    )
    return prediction


def study_fail(*, study_id: uuid.UUID, reason: str) -> None:
    Study.objects.filter(pk=study_id).exclude(status=Study.Status.DONE).update(
        status=Study.Status.FAILED,
        failure_reason=reason,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    logger.warning("study %s failed: %s", study_id, reason)


def _set_status(study_id: uuid.UUID, status: str) -> None:
    Study.objects.filter(pk=study_id).update(status=status, updated_at=timezone.now())


def _queue_diagnosis(study_id: uuid.UUID) -> None:
    from diagnoses.tasks import diagnose_study

    diagnose_study.delay(str(study_id))


def _read_upload(image_file: UploadedFile) -> bytes:
    limit = settings.STUDY_MAX_UPLOAD_BYTES
    if image_file.size is not None and image_file.size > limit:
        raise ValidationError(
            f"The file is {image_file.size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB.",
            code="too_large",
        )
    content = image_file.read()
    if not content:
        raise ValidationError("The file is empty.", code="empty")
    return content


def _check_image(content: bytes) -> str:
    try:
        open_image(content)
    except ImageError as error:
        raise ValidationError(str(error), code="not_an_image") from error
    with Image.open(BytesIO(content)) as header:
        source_format = header.format or ""
    if source_format not in FILE_EXTENSIONS:
        raise ValidationError(
            f"{source_format or 'This'} images are not accepted; upload a PNG or JPEG chest X-ray.",
            code="unsupported_format",
        )
    return source_format
