"""Celery tasks: thin. They load by id and call a service.

Each task keeps the name it was queued under before, given explicitly (a message in Redis names
its task), so messages queued by an earlier release still run."""

import random

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from diagnoses import callbacks, chunked_uploads, services, shadow, sweeper
from diagnoses.dicom import delivery as dicom_delivery


@shared_task(name="diagnoses.tasks.diagnose_study", bind=True, acks_late=True, max_retries=None)
def diagnose_study(self, study_id: str) -> None:
    try:
        services.study_diagnose(study_id=study_id)
    except services.ModelServerUnavailable as error:
        if self.request.retries >= settings.DIAGNOSIS_MAX_RETRIES:
            services.study_fail(
                study_id=study_id,
                reason=f"Model server unavailable after {self.request.retries + 1} attempts "
                f"({error}). The study can be re-run.",
            )
            return
        raise self.retry(countdown=retry_countdown(self.request.retries)) from error
    except SoftTimeLimitExceeded:
        services.study_fail(
            study_id=study_id,
            reason=f"The diagnosis took longer than {settings.CELERY_TASK_SOFT_TIME_LIMIT} s and "
            "was stopped. The study can be re-run.",
        )


def retry_countdown(retries: int) -> float:
    """1, 2, 4 ... s up to the maximum, each shortened at random by up to a quarter so that the
    studies of a burst do not all come back at the same moment."""
    return min(2**retries, settings.DIAGNOSIS_RETRY_BACKOFF_MAX_S) * random.uniform(0.75, 1.0)


@shared_task(name="diagnoses.tasks.sweep_stuck_studies", acks_late=True)
def sweep_stuck_studies() -> None:
    sweeper.stuck_studies_sweep()


@shared_task(name="diagnoses.tasks.expire_abandoned_uploads", acks_late=True)
def expire_abandoned_uploads() -> None:
    chunked_uploads.chunked_uploads_expire()


@shared_task(name=callbacks.DELIVER_TASK, bind=True, acks_late=True, max_retries=None)
def deliver_callback(self, delivery_id: int) -> None:
    """One attempt at a callback delivery, retried with backoff while another may help."""
    attempt = callbacks.callback_deliver(delivery_id=delivery_id)
    if attempt.retry and attempt.attempts < settings.CHEXWEB_CALLBACK_MAX_ATTEMPTS:
        raise self.retry(countdown=callbacks.callback_backoff(attempt.attempts))


@shared_task(name=shadow.READ_TASK, acks_late=True)
def read_study_in_shadow(study_id: str, model_version_id: int) -> None:
    """A shadow version's reading: its failure is logged and dropped, never retried."""
    shadow.study_shadow_read(study_id=study_id, model_version_id=model_version_id)
@shared_task(name=dicom_delivery.SEND_TASK, bind=True, acks_late=True, max_retries=None)
def deliver_dicom_results(self, delivery_id: int) -> None:
    """One attempt at sending a study's DICOM results, retried with backoff while it may help."""
    attempt = dicom_delivery.dicom_delivery_attempt(delivery_id=delivery_id)
    if attempt.retry:
        raise self.retry(countdown=dicom_delivery.delivery_backoff(attempt.attempts))
