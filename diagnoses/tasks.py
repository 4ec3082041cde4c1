"""Celery tasks: thin. They load by id and call a service."""

from celery import shared_task
from django.conf import settings

from diagnoses import services


@shared_task(bind=True, acks_late=True, max_retries=None)
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
        raise self.retry(countdown=min(2 ** self.request.retries, 60)) from error
