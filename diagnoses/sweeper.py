"""The sweeper: studies that lost their worker or their message are queued again.

The database is the truth, the broker only carries study ids, so work the broker or a worker lost
is found here. Celery beat runs `stuck_studies_sweep` every CHEXWEB_STUCK_SWEEP_INTERVAL_S:

- a study `processing` whose heartbeat (diagnoses/heartbeat.py) stopped CHEXWEB_STUCK_PROCESSING_S
  ago lost its worker: it goes back to `queued` and its task is sent again. One whose workers
  stopped CHEXWEB_STUCK_MAX_WORKER_LOSSES times, or queued (uploaded or re-run) longer ago than
  CHEXWEB_STUCK_GIVE_UP_S, is failed instead, so a study that kills every worker that takes it
  does not go round for ever.
- a study `queued` and unchanged for CHEXWEB_STUCK_QUEUED_S whose task is in no queue of the
  broker and held by no worker (diagnoses/broker.py) gets its task sent again: its message went
  with Redis, or with a worker killed while holding it. A study waiting in a queue, however long
  the backlog, is left to it.

Every change is a conditional update that re-checks the deadline, committed before the task is
sent: two sweepers at once (two beats) send a study once, and a study a worker claims meanwhile
is left to that worker. Should a message thought lost still arrive, it finds its study claimed or
finished and does nothing.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from diagnoses import broker, services
from diagnoses.models import Study
from diagnoses.status_changes import study_status_changed

logger = logging.getLogger(__name__)


@dataclass
class Sweep:
    """What one sweep did, by study id."""

    resent: list[uuid.UUID] = field(default_factory=list)  # queued: task sent again
    requeued: list[uuid.UUID] = field(default_factory=list)  # processing -> queued
    failed: list[uuid.UUID] = field(default_factory=list)  # processing, lost too often: failed


def stuck_studies_sweep(*, now: datetime | None = None) -> Sweep:
    now = now or timezone.now()
    sweep = Sweep()
    _processing_studies_recover(now, sweep)
    _queued_studies_resend(now, sweep)
    if sweep.resent or sweep.requeued or sweep.failed:
        logger.warning("sweeper: %d queued studies sent again, %d processing studies queued "
                       "again, %d failed", len(sweep.resent), len(sweep.requeued),
                       len(sweep.failed))
    return sweep


def _processing_studies_recover(now: datetime, sweep: Sweep) -> None:
    beat_before = now - timedelta(seconds=settings.CHEXWEB_STUCK_PROCESSING_S)
    queued_before = now - timedelta(seconds=settings.CHEXWEB_STUCK_GIVE_UP_S)
    # A study claimed before heartbeats existed has none: its claim counts as its last one.
    heartbeat_stopped = Q(heartbeat_at__lt=beat_before) | Q(heartbeat_at=None,
                                                            started_at__lt=beat_before)
    stuck = Study.objects.filter(heartbeat_stopped, status=Study.Status.PROCESSING)
    for study_id, queued_at, losses in stuck.values_list("pk", "queued_at", "worker_losses"):
        still_stuck = Q(heartbeat_stopped, status=Study.Status.PROCESSING)
        reason = _give_up_reason(losses + 1, queued_at < queued_before)
        if reason:
            if services.study_fail(study_id=study_id, reason=reason, still=still_stuck,
                                   worker_lost=True, now=now):
                sweep.failed.append(study_id)
            continue
        if Study.objects.filter(still_stuck, pk=study_id).update(
                status=Study.Status.QUEUED, started_at=None, heartbeat_at=None,
                worker_losses=F("worker_losses") + 1, updated_at=now):
            study_status_changed(study_id=study_id)
            logger.warning("study %s: no heartbeat from its worker since before %s: queued "
                           "again", study_id, beat_before.isoformat())
            _queue_diagnosis(study_id)
            sweep.requeued.append(study_id)


def _give_up_reason(losses: int, queued_too_long: bool) -> str:
    if losses >= settings.CHEXWEB_STUCK_MAX_WORKER_LOSSES:
        return (f"The worker diagnosing the study stopped {losses} times (killed, out of memory "
                "or its machine lost); it is not tried again. The study can be re-run.")
    if queued_too_long:
        return (f"The study did not finish within {_duration(settings.CHEXWEB_STUCK_GIVE_UP_S)} "
                "of being queued: the worker processing it stopped. The study can be re-run.")
    return ""


def _queued_studies_resend(now: datetime, sweep: Sweep) -> None:
    updated_before = now - timedelta(seconds=settings.CHEXWEB_STUCK_QUEUED_S)
    stuck = Study.objects.filter(status=Study.Status.QUEUED, updated_at__lt=updated_before)
    candidates = list(stuck.values_list("pk", flat=True))
    if not candidates:
        return
    # The broker is read after the database: a message taken and acknowledged in between left
    # its study no longer queued, which the conditional update below re-checks.
    try:
        in_broker = broker.studies_in_broker(now=now,
                                             held_overdue_s=settings.CHEXWEB_STUCK_QUEUED_S)
    except broker.BrokerUnreadable as error:
        logger.warning("sweeper: the broker could not be read (%s); queued studies are "
                       "checked at the next sweep", error)
        return
    for study_id in candidates:
        if study_id in in_broker:
            continue
        # Touching updated_at is the claim: one sweeper sends the task, once per deadline.
        if Study.objects.filter(
            pk=study_id, status=Study.Status.QUEUED, updated_at__lt=updated_before
        ).update(updated_at=now):
            _queue_diagnosis(study_id)
            sweep.resent.append(study_id)


def _queue_diagnosis(study_id: uuid.UUID) -> None:
    from diagnoses.tasks import diagnose_study

    diagnose_study.delay(str(study_id))


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
