"""Writes: a finished DICOM study's results (the SR and the key image) sent to the PACS.

When a study received as DICOM is done, one DicomDelivery per destination: by C-STORE to each
CHEXWEB_DICOM_SEND_TO node, by STOW-RS to each CHEXWEB_DICOMWEB_SEND_TO base URL. A Celery task
(SEND_TASK, diagnoses/tasks.py) makes the attempts; one that fails is retried with backoff while
another may help, and after CHEXWEB_DICOM_SEND_MAX_ATTEMPTS the delivery is failed with the last
reason. A re-send (page, API, admin) is audited and starts the attempts again. The instances have
the same UIDs every time (diagnoses/dicom/results.py), so a re-send replaces, never duplicates."""

import logging
import uuid
from dataclasses import dataclass

import requests
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import Comprehensive3DSRStorage, SecondaryCaptureImageStorage
from pydicom.uid import ExplicitVRLittleEndian

from diagnoses import selectors
from diagnoses.audit import audit_record
from diagnoses.dicom.results import dataset_bytes, result_key_image, result_sr
from diagnoses.models import DicomDelivery, Study

logger = logging.getLogger(__name__)

SEND_TASK = "diagnoses.tasks.deliver_dicom_results"
MAX_BACKOFF_S = 3600
STOW_TIMEOUT_S = 60
# C-STORE answers that mean stored: Success, and the Warning statuses (coerced, elements dropped)
STORED_STATUSES = {0x0000, 0xB000, 0xB006, 0xB007}


class DeliveryFailed(Exception):
    """One attempt failed; the message says why (no patient data). `retry`: another may help."""

    def __init__(self, message: str, *, retry: bool = True):
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class Attempt:
    delivered: bool
    retry: bool
    attempts: int


def study_results_send(*, study_id: uuid.UUID) -> list[DicomDelivery]:
    """A delivery per destination for a study received as DICOM that is done, and queue them.
    A delivery to the same destination made before is started again (a re-run's new result)."""
    study = Study.objects.filter(pk=study_id, source=Study.Source.DICOM,
                                 status=Study.Status.DONE).first()
    if study is None:
        return []
    destinations = (
        [(DicomDelivery.Protocol.DIMSE, str(node)) for node in settings.CHEXWEB_DICOM_SEND_TO]
        + [(DicomDelivery.Protocol.STOW, url) for url in settings.CHEXWEB_DICOMWEB_SEND_TO])
    deliveries = []
    with transaction.atomic():
        for protocol, destination in destinations:
            delivery, _ = DicomDelivery.objects.get_or_create(
                study=study, protocol=protocol, destination=destination)
            deliveries.append(_restart(delivery))
    return deliveries


def dicom_delivery_resend(*, delivery: DicomDelivery, user, channel: str) -> DicomDelivery:
    """Send a delivery's results again (by hand), recorded in the audit log."""
    with transaction.atomic():
        _restart(delivery)
        audit_record(user=user, action="change", study=delivery.study_id, channel=channel,
                     detail=f"DICOM results re-sent to {delivery.destination}")
    return delivery


def dicom_delivery_attempt(*, delivery_id: int) -> Attempt:
    """One attempt at a delivery; says whether another attempt may help."""
    delivery = DicomDelivery.objects.select_related("study").get(pk=delivery_id)
    if delivery.status != DicomDelivery.Status.PENDING:
        return Attempt(delivered=delivery.status == DicomDelivery.Status.DELIVERED, retry=False,
                       attempts=delivery.attempts)
    try:
        instances = _results(delivery.study)
        if delivery.protocol == DicomDelivery.Protocol.DIMSE:
            _c_store(delivery.destination, instances)
        else:
            _stow(delivery.destination, instances)
    except DeliveryFailed as failed:
        return _record_failure(delivery, str(failed), retry=failed.retry)
    except Exception as error:  # building the results: a bug or a missing file, not the network
        logger.exception("DICOM delivery %s of study %s", delivery.pk, delivery.study_id)
        return _record_failure(delivery, f"The results could not be made ({type(error).__name__})",
                               retry=False)
    DicomDelivery.objects.filter(pk=delivery.pk).update(
        status=DicomDelivery.Status.DELIVERED, attempts=delivery.attempts + 1, last_error="",
        delivered_at=timezone.now(), updated_at=timezone.now())
    logger.info("DICOM results of study %s delivered to %s", delivery.study_id,
                delivery.destination)
    return Attempt(delivered=True, retry=False, attempts=delivery.attempts + 1)


def delivery_backoff(attempts: int) -> int:
    """Seconds before the next attempt: the base delay doubled after each failed attempt."""
    return min(settings.CHEXWEB_DICOM_SEND_BACKOFF_S * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S)


def _restart(delivery: DicomDelivery) -> DicomDelivery:
    DicomDelivery.objects.filter(pk=delivery.pk).update(
        status=DicomDelivery.Status.PENDING, attempts=0, last_error="", delivered_at=None,
        updated_at=timezone.now())
    delivery.refresh_from_db()
    transaction.on_commit(lambda: current_app.send_task(SEND_TASK, args=[delivery.pk]),
                          robust=True)
    return delivery


def _record_failure(delivery: DicomDelivery, error: str, *, retry: bool) -> Attempt:
    """A failed attempt: pending again while another may help, else failed with the reason."""
    attempts = delivery.attempts + 1
    again = retry and attempts < settings.CHEXWEB_DICOM_SEND_MAX_ATTEMPTS
    if again:
        fields = {"last_error": error[:300]}
    else:
        reason = f"Gave up after {attempts} attempts: {error}" if retry else error
        fields = {"last_error": reason[:300], "status": DicomDelivery.Status.FAILED}
    DicomDelivery.objects.filter(pk=delivery.pk).update(attempts=attempts,
                                                         updated_at=timezone.now(), **fields)
    logger.warning("DICOM delivery %s of study %s, attempt %d: %s", delivery.pk,
                   delivery.study_id, attempts, error)
    return Attempt(delivered=False, retry=again, attempts=attempts)


def _results(study: Study) -> list[Dataset]:
    prediction = selectors.study_latest_prediction(study=study)
    if prediction is None:
        raise DeliveryFailed("The study has no prediction to send.", retry=False)
    return [result_sr(prediction), result_key_image(prediction)]


def _c_store(destination: str, instances: list[Dataset]) -> None:
    ae_title = destination.partition("@")[0]
    node = settings.CHEXWEB_DICOM_PEERS.get(ae_title)
    if node is None or str(node) != destination:
        raise DeliveryFailed(f"{destination} is no longer one of CHEXWEB_DICOM_PEERS.",
                             retry=False)
    ae = AE(ae_title=settings.CHEXWEB_DICOM_AE_TITLE)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    ae.connection_timeout = 10
    for sop_class in (Comprehensive3DSRStorage, SecondaryCaptureImageStorage):
        ae.add_requested_context(sop_class, ExplicitVRLittleEndian)
    association = ae.associate(node.host, node.port, ae_title=node.ae_title)
    if not association.is_established:
        raise DeliveryFailed(f"{node}: no association (down, or it refused us)")
    try:
        for instance in instances:
            answer = association.send_c_store(instance)
            status = int(answer.get("Status", -1)) if answer else -1
            if status not in STORED_STATUSES:
                comment = str(answer.get("ErrorComment", "")) if answer else ""
                raise DeliveryFailed(
                    f"{node}: C-STORE of the {_kind(instance)} answered "
                    f"{'no status' if status < 0 else f'0x{status:04X}'} {comment}".strip())
    finally:
        if association.is_established:
            association.release()
        else:
            association.abort()


def _stow(base_url: str, instances: list[Dataset]) -> None:
    boundary = uuid.uuid4().hex
    body = b"".join(
        b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n"
        + dataset_bytes(instance) + b"\r\n" for instance in instances
    ) + b"--" + boundary.encode() + b"--\r\n"
    headers = {"Content-Type": f'multipart/related; type="application/dicom"; '
                               f"boundary={boundary}",
               "Accept": "application/dicom+json"}
    try:
        response = requests.post(f"{base_url}/studies", data=body, headers=headers,
                                 timeout=STOW_TIMEOUT_S)
    except requests.RequestException as error:
        raise DeliveryFailed(f"{base_url}: {type(error).__name__}") from None
    if response.status_code not in (200, 202):
        raise DeliveryFailed(f"{base_url}: STOW-RS answered HTTP {response.status_code}",
                             retry=response.status_code >= 500 or response.status_code == 429)


def _kind(instance: Dataset) -> str:
    return "SR" if instance.Modality == "SR" else "key image"
