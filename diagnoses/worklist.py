"""Reads: the worklist, the studies read by the model and not yet signed off, most urgent first.

Order: a study that has waited longer than CHEXWEB_WORKLIST_MAX_WAIT_MINUTES since its upload
comes first whatever its findings (the longest waiting first); then by urgency, the highest
urgency of the findings its latest reading flags (urgent, priority, routine: set per finding in
each threshold set by admins); then by waiting time, the longest first. "Not signed off" and
"latest reading" are the history's own (selectors.study_list with reviewed=False).

However many studies wait, one page is built from bounded queries: the overdue ones by upload
time, the urgent and priority ones from their flagged findings' side (the findings a threshold
set names, of latest readings), the routine rest by upload time; each at most a page long."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from diagnoses import selectors
from diagnoses.models import ROUTINE, URGENCY_LEVELS, Review, Study, ThresholdSet

WORKLIST_LENGTH = 50  # the top of the list; the summary says how many wait in all
# The summary's counts stop here ("more than 1,000"): counted exactly, 900,000 unsigned studies
# took 1.5 s of every 10 s poll of every open worklist (docs/benchmarks.md, "Pages").
COUNT_CAP = 1_000
URGENT = URGENCY_LEVELS[0]
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
    total: int  # these three counts stop at count_cap + 1: read as "more than count_cap"
    urgent_unread: int  # urgent by their findings, not signed off
    overdue: int
    max_wait: timedelta
    count_cap: int


def worklist(*, now: datetime | None = None, length: int = WORKLIST_LENGTH) -> Worklist:
    now = now or timezone.now()
    max_wait = timedelta(minutes=settings.CHEXWEB_WORKLIST_MAX_WAIT_MINUTES)
    cutoff = now - max_wait
    unsigned = _unsigned()
    overdue = unsigned.filter(created_at__lt=cutoff)
    waiting = unsigned.filter(created_at__gte=cutoff)
    ids = list(overdue.order_by("created_at", "pk").values_list("pk", flat=True)[:length])
    ranked = _ranked(cutoff)  # urgent and priority, in order
    ids += [study_id for study_id, _ in ranked][:length - len(ids)]
    if len(ids) < length:
        ids += list(waiting.exclude(pk__in=[study_id for study_id, _ in ranked])
                    .order_by("created_at", "pk").values_list("pk", flat=True)
                    [:length - len(ids)])
    studies = selectors.study_list().filter(pk__in=ids).in_bulk()
    urgencies = _set_urgencies()
    entries = [_entry(studies[study_id], urgencies, now, cutoff) for study_id in ids
               if study_id in studies]
    return Worklist(entries=entries, total=selectors.count_up_to(unsigned, cap=COUNT_CAP),
                    urgent_unread=urgent_unread_count(cap=COUNT_CAP),
                    overdue=selectors.count_up_to(overdue, cap=COUNT_CAP), max_wait=max_wait,
                    count_cap=COUNT_CAP)


def count_label(count: int, *, cap: int) -> str:
    """A count that stopped at cap + 1, as people read it: "more than 1,000" past the cap."""
    return f"more than {cap:,}" if count > cap else f"{count:,}"


def urgent_unread_count(*, cap: int | None = None) -> int:
    """Studies read and not signed off whose latest reading flags a finding its threshold set
    calls urgent. With `cap`, at most cap + 1 (read as "more than cap"): the navigation's
    count, on every page, and the worklist's, which counting tens of thousands of such studies
    made take a second (docs/benchmarks.md, "Pages", 1,000,000 studies)."""
    findings = _named_findings(levels=(URGENT,))
    if findings is None:
        return 0
    if cap is None:
        return findings.values("prediction__study").distinct().count()
    # A latest reading has at most one finding of each urgent name, so the first
    # (cap + 1) * names rows name more than `cap` studies if there are that many rows; read
    # unsorted, those come from the flagged findings' index and the reading stops there.
    names = len({name for urgencies in _set_urgencies().values()
                 for name, level in urgencies.items() if level == URGENT})
    studies = findings.order_by().values_list("prediction__study_id", flat=True)
    return min(len(set(studies[:(cap + 1) * names])), cap + 1)


def _unsigned() -> QuerySet[Study]:
    return (selectors.study_list(filters=selectors.StudyFilters(status=Study.Status.DONE,
                                                               reviewed=False))
            .prefetch_related(None).order_by())


def _set_urgencies() -> dict[int, dict[str, str]]:
    """Threshold set -> the findings it names as urgent or priority (a handful of sets)."""
    return {set_id: {name: level for name, level in (urgencies or {}).items()
                     if level in _RANK and level != ROUTINE}
            for set_id, urgencies in ThresholdSet.objects.values_list("pk", "urgencies")}


def _named_findings(*, levels: tuple[str, ...]):
    """Flagged findings of latest readings that their threshold set names at one of `levels`;
    None when no set names any."""
    named = Q()
    for set_id, urgencies in _set_urgencies().items():
        names = [name for name, level in urgencies.items() if level in levels]
        if names:
            named |= Q(prediction__threshold_set_id=set_id, name__in=names)
    if not named:
        return None
    # Latest readings without a signed-off review, of done studies: the worklist's studies.
    signed = Review.objects.filter(prediction=OuterRef("prediction"), signed_off_at__isnull=False)
    return (selectors.latest_reading_findings()
            .filter(named, flagged=True, prediction__study__status=Study.Status.DONE)
            .filter(~Exists(signed)))


def _ranked(cutoff: datetime) -> list[tuple[uuid.UUID, str]]:
    """The studies uploaded since `cutoff` that flag an urgent or priority finding: most urgent,
    then longest waiting, first."""
    findings = _named_findings(levels=tuple(level for level in URGENCY_LEVELS if level != ROUTINE))
    if findings is None:
        return []
    urgencies = _set_urgencies()
    best: dict[uuid.UUID, tuple[int, datetime]] = {}
    for study_id, created_at, name, set_id in findings.filter(
            prediction__study__created_at__gte=cutoff).values_list(
            "prediction__study_id", "prediction__study__created_at", "name",
            "prediction__threshold_set_id"):
        rank = _RANK[urgencies[set_id][name]]
        if study_id not in best or rank < best[study_id][0]:
            best[study_id] = (rank, created_at)
    ordered = sorted(best.items(), key=lambda item: (item[1][0], item[1][1]))
    return [(study_id, URGENCY_LEVELS[rank]) for study_id, (rank, _) in ordered]


def _entry(study: Study, urgencies: dict[int, dict[str, str]], now: datetime,
           cutoff: datetime) -> WorklistEntry:
    prediction = selectors.study_latest_prediction(study=study)
    flagged = sorted(f.name for f in prediction.findings.all() if f.flagged) if prediction else []
    named = urgencies.get(prediction.threshold_set_id, {}) if prediction else {}
    levels = {name: named.get(name, ROUTINE) for name in flagged}
    urgency = min(levels.values(), key=_RANK.__getitem__, default=ROUTINE)
    return WorklistEntry(
        study=study, urgency=urgency, flagged=flagged,
        urgent_findings=[n for n, level in levels.items() if level == urgency != ROUTINE],
        waiting=now - study.created_at, overdue=study.created_at < cutoff)
