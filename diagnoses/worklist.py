"""Reads: the worklist, the studies read by the model and not yet signed off, most urgent first.

Order: a study that has waited longer than CHEXWEB_WORKLIST_MAX_WAIT_MINUTES since its upload
comes first whatever its findings (the longest waiting first); then by urgency, the highest
urgency of the findings its latest reading flags (urgent, priority, routine: set per finding in
each threshold set by admins); then by waiting time, the longest first. "Not signed off" and
"latest reading" are the history's own (selectors.study_list with reviewed=False).

Built from three narrow queries (the unsigned studies' ids and upload times, the flagged findings
of their latest readings, the threshold sets' urgencies), then one page of full rows."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from diagnoses import selectors
from diagnoses.models import ROUTINE, URGENCY_LEVELS, Finding, Review, Study, ThresholdSet

WORKLIST_LENGTH = 200
_RANK = {level: rank for rank, level in enumerate(URGENCY_LEVELS)}  # 0: most urgent


@dataclass(frozen=True)
class WorklistEntry:
    study: Study
    urgency: str
    urgent_findings: list[str]  # the flagged findings that set its urgency
    flagged: list[str]
    waiting: timedelta
    overdue: bool  # waited longer than the maximum: on top whatever its findings


@dataclass(frozen=True)
class Worklist:
    entries: list[WorklistEntry]
    total: int
    urgent_unread: int  # urgent by their findings, not signed off
    overdue: int
    max_wait: timedelta


@dataclass(frozen=True)
class _Item:
    study_id: uuid.UUID
    created_at: datetime
    urgency: str
    urgent_findings: list[str]
    flagged: list[str]


def worklist(*, now: datetime | None = None, length: int = WORKLIST_LENGTH) -> Worklist:
    now = now or timezone.now()
    max_wait = timedelta(minutes=settings.CHEXWEB_WORKLIST_MAX_WAIT_MINUTES)
    items = _items()
    items.sort(key=lambda item: _order(item, now, max_wait))
    shown = items[:length]
    studies = selectors.study_list().filter(pk__in=[item.study_id for item in shown]).in_bulk()
    entries = [
        WorklistEntry(study=studies[item.study_id], urgency=item.urgency,
                      urgent_findings=item.urgent_findings, flagged=item.flagged,
                      waiting=now - item.created_at, overdue=now - item.created_at > max_wait)
        for item in shown if item.study_id in studies
    ]
    return Worklist(
        entries=entries, total=len(items),
        urgent_unread=urgent_unread_count(),
        overdue=sum(now - item.created_at > max_wait for item in items), max_wait=max_wait,
    )


def urgent_unread_count() -> int:
    """Studies read and not signed off whose latest reading flags a finding its threshold set
    calls urgent (the navigation's count, on every page): counted from the urgent flagged
    findings' side, a few rows, however many studies wait."""
    urgent = Q()
    for set_id, urgencies in ThresholdSet.objects.values_list("pk", "urgencies"):
        names = [name for name, level in (urgencies or {}).items() if level == URGENCY_LEVELS[0]]
        if names:
            urgent |= Q(prediction__threshold_set_id=set_id, name__in=names)
    if not urgent:
        return 0
    signed = Review.objects.filter(prediction=OuterRef("prediction"), signed_off_at__isnull=False)
    return (selectors.latest_reading_findings()
            .filter(urgent, flagged=True, prediction__study__status=Study.Status.DONE)
            .filter(~Exists(signed)).values("prediction__study").distinct().count())


def _order(item: _Item, now: datetime, max_wait: timedelta) -> tuple:
    waited = now - item.created_at
    overdue = waited > max_wait
    return (not overdue, _RANK[item.urgency] if not overdue else 0, -waited.total_seconds())


def _items() -> list[_Item]:
    unsigned = (selectors.study_list(filters=selectors.StudyFilters(status=Study.Status.DONE,
                                                                    reviewed=False))
                .prefetch_related(None).order_by()
                .annotate(reading=Subquery(selectors.latest_prediction_of(OuterRef("pk"))
                                           .values("pk")[:1])))
    rows = list(unsigned.values_list("pk", "created_at", "reading"))
    flagged: dict[int, list[tuple[str, int]]] = {}
    for prediction_id, name, threshold_set_id in Finding.objects.filter(
            prediction_id__in=[reading for _, _, reading in rows if reading], flagged=True
    ).values_list("prediction_id", "name", "prediction__threshold_set_id"):
        flagged.setdefault(prediction_id, []).append((name, threshold_set_id))
    urgencies = dict(ThresholdSet.objects.filter(
        pk__in={set_id for names in flagged.values() for _, set_id in names}
    ).values_list("pk", "urgencies"))
    items = []
    for study_id, created_at, reading in rows:
        names = flagged.get(reading, [])
        levels = {name: (urgencies.get(set_id) or {}).get(name, ROUTINE) for name, set_id in names}
        urgency = min(levels.values(), key=_RANK.__getitem__, default=ROUTINE)
        items.append(_Item(study_id=study_id, created_at=created_at, urgency=urgency,
                           urgent_findings=sorted(n for n, level in levels.items()
                                                  if level == urgency and level != ROUTINE),
                           flagged=sorted(levels)))
    return items
