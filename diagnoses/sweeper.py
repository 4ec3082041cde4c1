"""The sweeper: studies stuck in `queued` or `processing` past a deadline are queued again.

The database is the truth, the broker only carries study ids, so work the broker lost is found
here. Celery beat runs `stuck_studies_sweep` every CHEXWEB_STUCK_SWEEP_INTERVAL_S:

- a study `queued` for longer than CHEXWEB_STUCK_QUEUED_S gets its task sent again: its message
  may have gone with Redis, or with a worker killed while holding it. If the first message still
  exists, whichever comes second finds the study claimed and does nothing.
- a study `processing` for longer than CHEXWEB_STUCK_PROCESSING_S (longer than the hard time
  limit, so no worker is still at it) lost its worker: it goes back to `queued` and its task is
  sent again. One queued (uploaded or re-run) longer ago than CHEXWEB_STUCK_GIVE_UP_S is failed
  instead, so a study that kills every worker that takes it does not go round for ever.

Every change is a conditional update that re-checks the deadline, committed before the task is
sent: two sweepers at once (two beats) send a study once, and a study a worker claims meanwhile
is left to that worker.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from diagnoses import services
from diagnoses.models import Study

logger = logging.getLogger(__name__)


@dataclass
class Sweep:
    """What one sweep did, by study id."""

    resent: list[uuid.UUID] = field(default_factory=list)  # queued: task sent again
    requeued: list[uuid.UUID] = field(default_factory=list)  # processing -> queued
    failed: list[uuid.UUID] = field(default_factory=list)  # processing, too old: failed


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
    started_before = now - timedelta(seconds=settings.CHEXWEB_STUCK_PROCESSING_S)
    queued_before = now - timedelta(seconds=settings.CHEXWEB_STUCK_GIVE_UP_S)
    stuck = Study.objects.filter(status=Study.Status.PROCESSING, started_at__lt=started_before)
    for study_id, queued_at in stuck.values_list("pk", "queued_at"):
        if queued_at < queued_before:
            reason = (
                f"The study did not finish within {_duration(settings.CHEXWEB_STUCK_GIVE_UP_S)} "
                "of being queued: the worker processing it stopped. The study can be re-run."
            )
            if services.study_fail(study_id=study_id, reason=reason,
                                   started_before=started_before, now=now):
                sweep.failed.append(study_id)
            continue
        still_stuck = Study.objects.filter(
            pk=study_id, status=Study.Status.PROCESSING, started_at__lt=started_before
        )
        if still_stuck.update(status=Study.Status.QUEUED, started_at=None, updated_at=now):
            logger.warning("study %s was processing since before %s: queued again", study_id,
                           started_before.isoformat())
            _queue_diagnosis(study_id)
            sweep.requeued.append(study_id)


def _queued_studies_resend(now: datetime, sweep: Sweep) -> None:
    updated_before = now - timedelta(seconds=settings.CHEXWEB_STUCK_QUEUED_S)
    stuck = Study.objects.filter(status=Study.Status.QUEUED, updated_at__lt=updated_before)
    for study_id in stuck.values_list("pk", flat=True):
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
