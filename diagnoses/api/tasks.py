"""Celery task for callback deliveries: thin, it calls the service and retries with backoff."""

from celery import shared_task
from django.conf import settings

from diagnoses.api import callbacks


@shared_task(bind=True, acks_late=True, max_retries=None)
def deliver_callback(self, delivery_id: int) -> None:
    attempt = callbacks.callback_deliver(delivery_id=delivery_id)
    if attempt.retry and attempt.attempts < settings.CHEXWEB_CALLBACK_MAX_ATTEMPTS:
        raise self.retry(countdown=callbacks.callback_backoff(attempt.attempts))
