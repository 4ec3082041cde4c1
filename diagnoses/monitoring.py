"""Reads for watching a model in use: studies per week, flag rate per finding per week, each
finding's score distribution in a period against a baseline period (PSI, inference/validation/
drift.py), reviewer agreement per finding, and the input mix (DICOM header fields) per week.

Every figure is counted by the database (grouped counts, no row per study comes back), over the
predictions of one model version: the active one unless chosen. A shadow model's predictions
belong to another model version, so they never count here.

Only complete weeks count (Monday 00:00 in TIME_ZONE): the figures of a week do not change once
it is over, so the page can keep its charts until the next week begins (drawing them is what
costs: docs/benchmarks.md, "Monitoring"). The drift compares the last complete week with the
four before it; the agreement counts the verdicts signed off in the last four complete weeks.

Reviewer agreement of a finding: the share of its signed-off verdicts that agree with the model.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.db.models.functions import TruncWeek
from django.utils import timezone

from diagnoses.model_versions import active_model_version
from diagnoses.models import Finding, FindingVerdict, ModelVersion, Study
from inference.findings import FINDINGS
from inference.validation.drift import SCORE_BIN_EDGES, psi_from_counts, psi_level

# The header fields the input mix shows, those the Study has (others come with DICOM intake).
MIX_FIELDS = ("modality", "view_position", "body_part_examined", "manufacturer")
AGE_FIELD = "patient_age_years"  # an integer field, when the Study has one
AGE_BAND_YEARS = 20
WEEKS = 12
CURRENT_DAYS = 7
BASELINE_DAYS = 28


AGREEMENT_WEEKS = 4


@dataclass(frozen=True)
class Periods:
    baseline_from: datetime.datetime
    baseline_to: datetime.datetime
    current_from: datetime.datetime
    current_to: datetime.datetime


@dataclass(frozen=True)
class Window:
    """The complete weeks shown: [since, until), the drift's periods and the agreement's start."""

    since: datetime.datetime
    until: datetime.datetime
    periods: Periods
    agreement_since: datetime.datetime


def week_start(now: datetime.datetime | None = None) -> datetime.datetime:
    """Monday 00:00 (TIME_ZONE) of the week `now` is in."""
    local = timezone.localtime(now or timezone.now())
    monday = local.date() - datetime.timedelta(days=local.weekday())
    return timezone.make_aware(datetime.datetime.combine(monday, datetime.time()))


def monitoring_window(now: datetime.datetime | None = None) -> Window:
    until = week_start(now)
    current_from = until - datetime.timedelta(days=CURRENT_DAYS)
    periods = Periods(current_from - datetime.timedelta(days=BASELINE_DAYS), current_from,
                      current_from, until)
    return Window(until - datetime.timedelta(weeks=WEEKS), until, periods,
                  until - datetime.timedelta(weeks=AGREEMENT_WEEKS))


def default_periods(now: datetime.datetime | None = None) -> Periods:
    """The last complete week against the four before it."""
    return monitoring_window(now).periods


def studies_per_week(*, since: datetime.datetime, until: datetime.datetime
                     ) -> list[tuple[datetime.date, int]]:
    rows = (Study.objects.filter(created_at__gte=since, created_at__lt=until).order_by()
            .annotate(week=TruncWeek("created_at")).values("week")
            .annotate(count=Count("pk")).values_list("week", "count"))
    return sorted((_day(week), count) for week, count in rows)


def flag_rate_per_week(*, model_version_id: int, since: datetime.datetime,
                       until: datetime.datetime) -> dict[datetime.date, dict[str, float]]:
    """Week -> finding -> the share of that week's predictions that flagged it."""
    rows = (Finding.objects.filter(prediction__model_version_id=model_version_id,
                                   prediction__created_at__gte=since,
                                   prediction__created_at__lt=until).order_by()
            .annotate(week=TruncWeek("prediction__created_at")).values("week", "name")
            .annotate(total=Count("pk"), flagged=Count("pk", filter=Q(flagged=True)))
            .values_list("week", "name", "total", "flagged"))
    rates: dict[datetime.date, dict[str, float]] = {}
    for week, name, total, flagged in rows:
        rates.setdefault(_day(week), {})[name] = flagged / total
    return dict(sorted(rates.items()))


def score_drift(*, model_version_id: int, periods: Periods) -> dict[str, dict]:
    """Per finding: the bin counts of the baseline and current periods, the PSI and its level."""
    bins = Case(*[When(probability__lt=edge, then=Value(number))
                  for number, edge in enumerate(SCORE_BIN_EDGES[1:])],
                default=Value(len(SCORE_BIN_EDGES) - 2), output_field=IntegerField())
    period = Case(When(prediction__created_at__lt=periods.baseline_to, then=Value(0)),
                  default=Value(1), output_field=IntegerField())
    rows = (Finding.objects.filter(prediction__model_version_id=model_version_id,
                                   prediction__created_at__gte=periods.baseline_from,
                                   prediction__created_at__lt=periods.current_to)
            .filter(Q(prediction__created_at__lt=periods.baseline_to)
                    | Q(prediction__created_at__gte=periods.current_from)).order_by()
            .annotate(period=period, bin=bins).values("name", "period", "bin")
            .annotate(count=Count("pk")).values_list("name", "period", "bin", "count"))
    size = len(SCORE_BIN_EDGES) - 1
    counts = {name: ([0] * size, [0] * size) for name in FINDINGS}
    for name, which, number, count in rows:
        counts[name][which][number] += count
    drift = {}
    for name, (baseline, current) in counts.items():
        value = psi_from_counts(baseline, current)
        drift[name] = {"baseline": baseline, "current": current, "psi": value,
                       "level": psi_level(value), "baseline_total": sum(baseline),
                       "current_total": sum(current)}
    return drift


def reviewer_agreement(*, model_version_id: int, since: datetime.datetime,
                       until: datetime.datetime) -> dict[str, tuple[float | None, int]]:
    """Finding -> (share of signed-off verdicts that agree, how many verdicts)."""
    rows = (FindingVerdict.objects.filter(
        review__signed_off_at__gte=since, review__signed_off_at__lt=until,
        finding__prediction__model_version_id=model_version_id).order_by()
        .values("finding__name")
        .annotate(total=Count("pk"), agree=Count("pk", filter=Q(verdict="agree")))
        .values_list("finding__name", "total", "agree"))
    agreement: dict[str, tuple[float | None, int]] = {name: (None, 0) for name in FINDINGS}
    for name, total, agree in rows:
        agreement[name] = (agree / total, total)
    return agreement


def input_mix_per_week(*, since: datetime.datetime, until: datetime.datetime
                       ) -> dict[str, dict[datetime.date, dict]]:
    """Field -> week -> value -> studies, for the header fields this Study has; the age in
    bands of 20 years when an age field is there."""
    have = {field.name for field in Study._meta.get_fields()}
    mix = {}
    for field in [f for f in MIX_FIELDS if f in have]:
        mix[field] = _counts_per_week(field, since, until)
    if AGE_FIELD in have:
        mix["age band"] = _counts_per_week(AGE_FIELD, since, until, band=AGE_BAND_YEARS)
    return mix


def _counts_per_week(field: str, since: datetime.datetime, until: datetime.datetime,
                     band: int | None = None) -> dict:
    rows = (Study.objects.filter(created_at__gte=since, created_at__lt=until).order_by()
            .annotate(week=TruncWeek("created_at")).values("week", field)
            .annotate(count=Count("pk")).values_list("week", field, "count"))
    weeks: dict[datetime.date, dict[str, int]] = {}
    for week, value, count in rows:
        if band is not None and value is not None:
            low = int(value) // band * band
            label = f"{low}-{low + band - 1}"
        else:
            label = str(value) if value not in (None, "") else "(not given)"
        per_week = weeks.setdefault(_day(week), {})
        per_week[label] = per_week.get(label, 0) + count
    return dict(sorted(weeks.items()))


def monitored_model_version(model_version_id: int | None = None) -> ModelVersion | None:
    versions = ModelVersion.objects.all()
    if model_version_id:
        return versions.filter(pk=model_version_id).first()
    return active_model_version() or versions.order_by("-first_seen_at").first()


def _day(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value
