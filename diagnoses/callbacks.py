"""Callbacks: when a study finishes, a signed JSON POST to the callback_url it was submitted with.

The body is signed with HMAC-SHA256 over `"<timestamp>.<body>"` with CHEXWEB_CALLBACK_SECRET:

    X-ChexWeb-Timestamp: 1767225600
    X-ChexWeb-Signature: sha256=<hex digest>

Callback URLs must be https and resolve to public addresses only (checked when the study is
submitted and again before each attempt, and each attempt connects to the address its check
vetted: diagnoses.callback_addresses), unless CHEXWEB_CALLBACKS_ALLOW_PRIVATE is set, which
also allows plain http for receivers inside the hospital network. Failed attempts are retried with
exponential backoff (the Celery task DELIVER_TASK, diagnoses/tasks.py); CallbackDelivery records
them."""

import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from diagnoses import selectors
from diagnoses.callback_addresses import IPAddress, callback_host_vet
from diagnoses.intended_use import study_outside_intended_use
from diagnoses.models import CallbackDelivery, Study
from diagnoses.pinned_http import pinned_post

logger = logging.getLogger(__name__)

EVENT = "study.finished"
SIGNATURE_HEADER = "X-ChexWeb-Signature"
TIMESTAMP_HEADER = "X-ChexWeb-Timestamp"
MAX_BACKOFF_S = 3600
RETRYABLE_STATUSES = {408, 425, 429}
# The Celery task that makes the attempts (diagnoses.tasks.deliver_callback), by name: the task
# calls this module, so this module sends it by name instead of importing it. The name is the one
# it had when it lived in diagnoses/api/tasks.py, so messages queued then still run.
DELIVER_TASK = "diagnoses.api.tasks.deliver_callback"


def callback_url_check(url: str) -> IPAddress | None:
    """Refuse a callback URL ChexWeb must not POST to; ValidationError says why. Returns the
    vetted address to connect to (None where private receivers are allowed: any will do)."""
    if not settings.CHEXWEB_CALLBACK_SECRET:
        raise ValidationError(
            "This server sends no callbacks: CHEXWEB_CALLBACK_SECRET is not set.",
            code="callbacks_off",
        )
    parts = urlsplit(url)
    allow_private = settings.CHEXWEB_CALLBACKS_ALLOW_PRIVATE
    schemes = ("http", "https") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValidationError(f"A callback URL must be an {' or '.join(schemes)} URL.",
                              code="callback_scheme")
    if parts.username or parts.password:
        raise ValidationError("A callback URL must not carry credentials.", code="callback_auth")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValidationError("A callback URL's port must be a number from 1 to 65535.",
                              code="callback_port")
    if allow_private:
        return None
    return callback_host_vet(parts.hostname, port or 443)


def callback_signature(*, body: bytes, timestamp: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def study_finished(*, study_id: uuid.UUID) -> CallbackDelivery | None:
    """Schedule the callback of a study that just finished, once per finish."""
    study = Study.objects.filter(pk=study_id).first()
    if study is None or not study.callback_url or not study.is_finished:
        return None
    already = study.callback_deliveries.filter(created_at__gte=study.finished_at).first()
    if already is not None:
        return already
    delivery = CallbackDelivery.objects.create(study=study, url=study.callback_url)
    transaction.on_commit(lambda: _queue_delivery(delivery.pk))
    return delivery


@dataclass(frozen=True)
class Attempt:
    delivered: bool
    retry: bool
    attempts: int


def callback_deliver(*, delivery_id: int) -> Attempt:
    """One attempt at a delivery; says whether another attempt may help."""
    delivery = CallbackDelivery.objects.select_related("study").get(pk=delivery_id)
    if delivery.delivered_at is not None:
        return Attempt(delivered=True, retry=False, attempts=delivery.attempts)
    study = selectors.study_get(study_id=delivery.study_id)
    if not study.is_finished:
        _record(delivery, status=None, error="Not sent: the study was re-run meanwhile.")
        return Attempt(delivered=False, retry=False, attempts=delivery.attempts)
    try:
        address = callback_url_check(delivery.url)
    except ValidationError as refused:
        _record(delivery, status=None, error=f"Not sent: {' '.join(refused.messages)}")
        return Attempt(delivered=False, retry=False, attempts=delivery.attempts)
    body = json.dumps(callback_payload(study, delivery), separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ChexWeb-Callbacks/1",
        "X-ChexWeb-Event": EVENT,
        "X-ChexWeb-Delivery": str(delivery.pk),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: callback_signature(
            body=body, timestamp=timestamp, secret=settings.CHEXWEB_CALLBACK_SECRET
        ),
    }
    try:
        response = pinned_post(delivery.url, address=address, data=body, headers=headers,
                               timeout=settings.CHEXWEB_CALLBACK_TIMEOUT_S)
    except requests.RequestException as error:
        _record(delivery, status=None, error=f"{type(error).__name__}: {error}")
        return Attempt(delivered=False, retry=True, attempts=delivery.attempts)
    if 200 <= response.status_code < 300:
        _record(delivery, status=response.status_code, error="", delivered=True)
        logger.info("callback %s of study %s delivered", delivery.pk, study.pk)
        return Attempt(delivered=True, retry=False, attempts=delivery.attempts)
    _record(delivery, status=response.status_code, error=f"HTTP {response.status_code}")
    retry = response.status_code >= 500 or response.status_code in RETRYABLE_STATUSES
    return Attempt(delivered=False, retry=retry, attempts=delivery.attempts)


def callback_backoff(attempts: int) -> int:
    """Seconds before the next attempt: the base delay doubled after each failed attempt."""
    return min(settings.CHEXWEB_CALLBACK_BACKOFF_S * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S)


def callback_payload(study: Study, delivery: CallbackDelivery) -> dict:
    """What the receiver gets: the study's outcome and where to read it, no patient identifiers."""
    prediction = selectors.study_latest_prediction(study=study)
    model = prediction.model_version if prediction else None
    return {
        "event": EVENT,
        "delivery": delivery.pk,
        "study": {
            "id": str(study.pk),
            "url": reverse("api-study-detail", args=[study.pk]),
            "status": study.status,
            "failure_reason": study.failure_reason,
            "outside_intended_use": study_outside_intended_use(study),
            "finished_at": study.finished_at.isoformat() if study.finished_at else None,
            "prediction_id": prediction.pk if prediction else None,
            "flagged": [f.name for f in prediction.findings.all() if f.flagged] if prediction
            else [],
            "model_version": {"id": model.pk, "name": model.name,
                              "weights_verified": model.weights_verified,
                              "warning": model.warning} if model else None,
        },
    }


def _record(delivery: CallbackDelivery, *, status: int | None, error: str,
            delivered: bool = False) -> None:
    delivery.attempts += 1
    delivery.last_status = status
    delivery.last_error = error[:300]
    if delivered:
        delivery.delivered_at = timezone.now()
    delivery.save(update_fields=["attempts", "last_status", "last_error", "delivered_at"])
    if not delivered:
        logger.warning("callback %s of study %s: attempt %d failed: %s",
                       delivery.pk, delivery.study_id, delivery.attempts, error)


def _queue_delivery(delivery_id: int) -> None:
    current_app.send_task(DELIVER_TASK, args=[delivery_id])
