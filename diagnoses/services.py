"""Writes: accepting a study, claiming it for diagnosis, storing its prediction or its failure."""

import hashlib
import logging
import uuid
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from PIL import Image

from diagnoses import callbacks, intended_use, shadow
from diagnoses.dicom.delivery import study_results_send
from diagnoses.heartbeat import study_heartbeat
from diagnoses.model_server import model_server_client
from diagnoses.model_versions import model_version_for
from diagnoses.models import Finding, ModelVersion, Prediction, Study
from diagnoses.status_changes import study_status_changed
from inference.graphpipe.client import GraphPipeError, ServerUnavailable
from inference.pipeline import Diagnosis, diagnose_image
from inference.imaging.budget import ImageOverBudget
from inference.imaging.preprocessing import ImageError, UnsupportedImage
from diagnoses.study_images import study_image_read, study_upload_read
from inference.imaging.study_image import StudyUpload, read_resized_copy

logger = logging.getLogger(__name__)

FILE_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "DICOM": "dcm"}


class ModelServerUnavailable(Exception):
    """The model server could not be reached, timed out or was not ready: worth a retry."""


PATIENT_MISMATCH = "patient_mismatch"


def patient_mismatch_check(*, typed: str, header: str, confirmed: bool) -> None:
    """A typed patient identifier that differs from the DICOM header's is refused unless the
    uploader confirmed it: the wrong patient's study is worse than no study."""
    if typed and header and typed.strip() != header.strip() and not confirmed:
        raise ValidationError(
            f"The patient identifier typed ({typed}) differs from the DICOM header's ({header}). "
            "Check that this is the right patient; to store the typed identifier anyway, confirm "
            "the mismatch (the header's is kept beside it).",
            code=PATIENT_MISMATCH,
        )


class DuplicateStudy(Exception):
    """The same file (same sha256) was uploaded before."""

    def __init__(self, study: Study):
        super().__init__(f"This image was already uploaded as study {study.pk}.")
        self.study = study


def study_create(
    *,
    uploaded_by,
    image_file: UploadedFile,
    patient_id: str = "",
    accession_number: str = "",
    notes: str = "",
    tencrop: bool = False,
    refuse_duplicates: bool = False,
    view_position: str = "",
    patient_age_years: float | None = None,
    confirm_patient_mismatch: bool = False,
) -> Study:
    """Validate an uploaded image, store it under a random name and queue its diagnosis.

    With `refuse_duplicates`, a file uploaded before raises DuplicateStudy naming that study.
    Every study is held to the intended use (diagnoses/intended_use.py): `view_position` and
    `patient_age_years` are what the uploader declared for a PNG or JPEG (a DICOM header's win);
    outside it under the `refuse` policy, the study is stored as not eligible and not queued.
    A typed `patient_id` differing from the DICOM header's is refused (ValidationError, code
    PATIENT_MISMATCH) unless `confirm_patient_mismatch`; the header's is stored either way."""
    content = _read_upload(image_file)
    image_sha256 = hashlib.sha256(content).hexdigest()
    if refuse_duplicates:
        earlier = Study.objects.filter(image_sha256=image_sha256).order_by("created_at").first()
        if earlier is not None:
            raise DuplicateStudy(earlier)
    study_upload = _read_study_upload(content)
    dicom = study_upload.dicom
    header_patient_id = dicom.patient_id if dicom else ""
    patient_mismatch_check(typed=patient_id, header=header_patient_id,
                           confirmed=confirm_patient_mismatch)
    assessment = intended_use.intended_use_assess(
        study_image=study_upload, view_position=view_position, age_years=patient_age_years)
    refused = intended_use.intended_use_refuses(assessment)
    study = Study(
        image_sha256=image_sha256,
        image_format=study_upload.format,
        original_filename=(image_file.name or "")[:255],
        patient_id=patient_id or header_patient_id,
        header_patient_id=header_patient_id,
        accession_number=accession_number or (dicom.accession_number if dicom else ""),
        study_instance_uid=dicom.study_instance_uid if dicom else "",
        study_date=dicom.study_date if dicom else None,
        modality=dicom.modality if dicom else "",
        view_position=dicom.view_position if dicom else view_position,
        body_part_examined=dicom.body_part_examined if dicom else "",
        patient_age_years=assessment.facts.age_years,
        intended_use_checked_from=assessment.checked_from,
        intended_use_reasons=assessment.reasons,
        image_warnings=study_upload.warnings,
        notes=notes,
        tencrop=tencrop,
        uploaded_by=uploaded_by,
    )
    stored_name = uuid.uuid4().hex
    try:
        with transaction.atomic():
            study.image.save(f"{stored_name}.{FILE_EXTENSIONS[study_upload.format]}",
                             ContentFile(content), save=False)
            study.resized_image.save(f"{stored_name}-resized.png",
                                     ContentFile(study_upload.resized_copy), save=False)
            if refused:
                _not_eligible(study, assessment.reasons)
            study.save()
            if refused:
                transaction.on_commit(lambda: callbacks.study_finished(study_id=study.pk),
                                      robust=True)
            else:
                transaction.on_commit(lambda: _queue_diagnosis(study.pk), robust=True)
    except Exception:
        study_files_delete(study)
        raise
    logger.info("study %s accepted (%s, %d bytes)%s", study.pk, study.image_format, len(content),
                " as not eligible (outside intended use)" if refused else "")
    return study


def _not_eligible(study: Study, reasons: list[str]) -> None:
    study.status = Study.Status.NOT_ELIGIBLE
    study.failure_reason = intended_use.study_not_eligible_reason(reasons)
    study.finished_at = timezone.now()


def study_diagnose(*, study_id: uuid.UUID) -> None:
    """Claim a queued study, run it through the model server and store the outcome.

    A study that is not queued (already claimed by another worker, done or failed) is left alone,
    so a redelivered task does no duplicate work. A claimed study carries a heartbeat until its
    outcome is stored (diagnoses/heartbeat.py).
    """
    claimed_at = timezone.now()
    claimed = Study.objects.filter(pk=study_id, status=Study.Status.QUEUED).update(
        status=Study.Status.PROCESSING, started_at=claimed_at, heartbeat_at=claimed_at,
        updated_at=claimed_at,
    )
    if not claimed:
        logger.info("study %s is not queued; nothing to do", study_id)
        return
    study_status_changed(study_id=study_id)
    with study_heartbeat(study_id=study_id, claimed_at=claimed_at):
        _claimed_study_diagnose(study_id)


def _claimed_study_diagnose(study_id: uuid.UUID) -> None:
    study = Study.objects.get(pk=study_id)
    if intended_use.reasons_refused(study.intended_use_reasons):
        # Accepted under `warn`, re-run since the site went to `refuse`: not read.
        now = timezone.now()
        Study.objects.filter(pk=study_id, status=Study.Status.PROCESSING).update(
            status=Study.Status.NOT_ELIGIBLE, finished_at=now, updated_at=now,
            failure_reason=intended_use.study_not_eligible_reason(study.intended_use_reasons))
        study_status_changed(study_id=study_id)
        transaction.on_commit(lambda: callbacks.study_finished(study_id=study_id), robust=True)
        return
    try:
        image = model_input_image(study)
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
    """Store a diagnosis, flag findings at or above the model version's current thresholds, and
    finish the study. A study already read by this model in this mode keeps its one prediction."""
    with transaction.atomic():
        model_version = model_version_for(diagnosis.model)
        prediction = Prediction.objects.filter(
            study=study, model_version=model_version, preprocessing=diagnosis.preprocessing
        ).first()
        if prediction is None:
            prediction = _prediction_create(study, model_version, diagnosis)
        Study.objects.filter(pk=study.pk).update(
            status=Study.Status.DONE,
            failure_reason="",
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        study_status_changed(study_id=study.pk)
        if study.callback_url:
            transaction.on_commit(lambda: callbacks.study_finished(study_id=study.pk),
                                  robust=True)
        # After the clinical reading is committed (and its callback scheduled), never before.
        transaction.on_commit(lambda: shadow.shadow_readings_queue(
            study_id=study.pk, read_by=model_version), robust=True)
        if study.source == Study.Source.DICOM:  # results back to the PACS
            transaction.on_commit(lambda: study_results_send(study_id=study.pk), robust=True)
    logger.info(
        "study %s done by model %s in %.0f ms",
        study.pk,
        model_version.short_identity,
        diagnosis.inference_ms,
    )
    return prediction


def _prediction_create(study: Study, model_version: ModelVersion, diagnosis: Diagnosis) -> Prediction:
    threshold_set = model_version.current_thresholds()
    prediction = Prediction.objects.create(
        study=study,
        model_version=model_version,
        threshold_set=threshold_set,
        preprocessing=diagnosis.preprocessing,
        heatmaps=diagnosis.heatmaps.round(6).tolist(),
        preprocessing_ms=diagnosis.preprocessing_ms,
        inference_ms=diagnosis.inference_ms,
    )
    thresholds = threshold_set.thresholds
    Finding.objects.bulk_create(
        Finding(
            prediction=prediction,
            name=name,
            probability=probability,
            threshold=thresholds[name],
            flagged=probability >= thresholds[name],
        )
        for name, probability in diagnosis.probabilities.items()
    )
    return prediction


def model_input_image(study: Study) -> Image.Image:
    """The resized copy kept at upload, else (an older study, or the copy is unusable) the
    upload itself: the same model input either way."""
    copy = study_resized_copy(study)
    if copy is not None:
        return copy
    with study.image.open("rb") as stored:
        return study_image_read(stored.read()).image


def study_resized_copy(study: Study) -> Image.Image | None:
    """The resized copy kept at upload; None for a study without one or when it is unusable
    (missing, unreadable, not for this preprocessing)."""
    if not study.resized_image.name:
        return None
    try:
        with study.resized_image.open("rb") as stored:
            return read_resized_copy(stored.read())
    except (OSError, ImageError) as error:
        logger.warning("study %s: resized copy not usable (%s)", study.pk,
                       type(error).__name__)
        return None


def study_files_delete(study: Study) -> None:
    """Remove a study's stored files (for an upload that is not kept)."""
    for stored in (study.image, study.resized_image):
        if stored.name:
            stored.storage.delete(stored.name)


def study_rerun(*, study: Study) -> Study:
    """Queue a finished study again (e.g. after a failure, or for a new model version; a study
    not eligible is read if the site's intended-use policy is `warn` by then, else ends not
    eligible again).

    Earlier predictions are kept; the model version that answers decides whether a new one is
    stored."""
    with transaction.atomic():
        rerun = Study.objects.filter(
            pk=study.pk, status__in=[Study.Status.DONE, Study.Status.FAILED,
                                     Study.Status.NOT_ELIGIBLE]
        ).update(
            status=Study.Status.QUEUED, failure_reason="", started_at=None, finished_at=None,
            worker_losses=0, queued_at=timezone.now(), updated_at=timezone.now(),
        )
        if not rerun:
            raise ValidationError("Only a finished or failed study can be re-run.", code="busy")
        study_status_changed(study_id=study.pk)
        transaction.on_commit(lambda: _queue_diagnosis(study.pk), robust=True)
    study.refresh_from_db()
    return study


def study_fail(
    *, study_id: uuid.UUID, reason: str, still: Q | None = None, worker_lost: bool = False,
    now: datetime | None = None,
) -> bool:
    """Fail a study that is not done, tell its callback receiver and log why; says whether it
    failed it. With `still`, only a study that still matches it (the sweeper's view: a worker
    that took the study again meanwhile keeps it); `worker_lost` counts one more lost worker."""
    studies = Study.objects.filter(pk=study_id).exclude(
        status__in=[Study.Status.DONE, Study.Status.NOT_ELIGIBLE])
    if still is not None:
        studies = studies.filter(still)
    now = now or timezone.now()
    lost = {"worker_losses": F("worker_losses") + 1} if worker_lost else {}
    if not studies.update(status=Study.Status.FAILED, failure_reason=reason, finished_at=now,
                          updated_at=now, **lost):
        return False
    study_status_changed(study_id=study_id)
    transaction.on_commit(lambda: callbacks.study_finished(study_id=study_id), robust=True)
    logger.warning("study %s failed: %s", study_id, reason)
    return True


def _set_status(study_id: uuid.UUID, status: str) -> None:
    Study.objects.filter(pk=study_id).update(status=status, updated_at=timezone.now())
    study_status_changed(study_id=study_id)


def _queue_diagnosis(study_id: uuid.UUID) -> None:
    """Hand the study to a worker. Called with robust=True: if the broker is down the study stays
    queued in the database, the upload still succeeds, and the sweeper queues it later."""
    from diagnoses.tasks import diagnose_study

    diagnose_study.delay(str(study_id))


def mebibytes(size: int) -> str:
    return f"{size / 2**20:.1f}".removesuffix(".0") + " MiB"


def upload_size_limit() -> str:
    """The upload size limit (settings.STUDY_MAX_UPLOAD_BYTES) as people read it: "64 MiB"."""
    return mebibytes(settings.STUDY_MAX_UPLOAD_BYTES)


def _read_upload(image_file: UploadedFile) -> bytes:
    limit = settings.STUDY_MAX_UPLOAD_BYTES
    if image_file.size is not None and image_file.size > limit:
        raise ValidationError(
            f"The file is {mebibytes(image_file.size)}; the limit is {upload_size_limit()}.",
            code="too_large",
        )
    content = image_file.read()
    if not content:
        raise ValidationError("The file is empty.", code="empty")
    return content


def _read_study_upload(content: bytes) -> StudyUpload:
    try:
        study_upload = study_upload_read(content)
    except ImageOverBudget as error:
        raise ValidationError(str(error), code="too_large") from None
    except UnsupportedImage as error:
        raise ValidationError(str(error), code="unsupported_format") from None
    except ImageError as error:
        raise ValidationError(str(error), code="not_an_image") from None
    if study_upload.format not in FILE_EXTENSIONS:
        raise ValidationError(
            f"{study_upload.format} images are not accepted; upload a PNG, JPEG or DICOM "
            "chest radiograph.",
            code="unsupported_format",
        )
    return study_upload
