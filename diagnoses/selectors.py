"""Reads: studies for the history, the patient page and the result page.

Prediction rows are the clinical readings only: a shadow model version's readings are
ShadowPrediction rows (diagnoses/shadow.py), which nothing here reads. The clinical reading of a
study is `study_latest_prediction` (or `latest_prediction_of` in a query): every page, export,
API answer and callback takes it from here."""

import datetime
import uuid
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from diagnoses.models import Finding, Prediction, Review, Study

SORTS = {
    "newest": ("-created_at",),
    "oldest": ("created_at",),
    "patient": ("patient_id", "-created_at"),
    "accession": ("accession_number", "-created_at"),
    "status": ("status", "-created_at"),
    # By the latest reading: its highest probability (of the flagged finding filtered on, if
    # any), or its count of flagged findings; studies without a reading last.
    "probability": (F("reading_probability").desc(nulls_last=True), "-created_at"),
    "flagged": (F("reading_flagged").desc(nulls_last=True), "-created_at"),
}
READING_SORTS = {"probability", "flagged"}


@dataclass(frozen=True)
class StudyFilters:
    search: str = ""
    status: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    flagged_finding: str = ""
    reviewed: bool | None = None
    model_version_id: int | None = None
    patient_id: str = ""
    sort: str = "newest"


def _with_predictions(studies: QuerySet[Study]) -> QuerySet[Study]:
    return studies.select_related("uploaded_by").prefetch_related(
        Prefetch(
            "predictions",
            # No page reads the 14x7x7 heatmaps from here (their PNGs load the prediction):
            # decoding them cost the history ~20 ms a page (docs/benchmarks.md, "Pages").
            queryset=Prediction.objects.select_related("model_version").defer("heatmaps")
            .prefetch_related(
                "findings",
                Prefetch("reviews", queryset=Review.objects.select_related("reviewer")
                         .prefetch_related("verdicts__finding")),
            ),
        )
    )


def count_up_to(rows: QuerySet, *, cap: int) -> int:
    """How many ROWS, counting no further than cap + 1 (read as "more than cap"): a few
    milliseconds however many there are, where counting a million took half a second
    (docs/benchmarks.md, "Pages", 1,000,000 studies)."""
    return rows.order_by()[:cap + 1].count()


def study_get(*, study_id: uuid.UUID) -> Study:
    return get_object_or_404(_with_predictions(Study.objects.all()), pk=study_id)


def study_list(*, filters: StudyFilters = StudyFilters()) -> QuerySet[Study]:
    studies = Study.objects.all()
    if filters.search:
        studies = studies.filter(
            Q(patient_id__istartswith=filters.search)
            | Q(accession_number__istartswith=filters.search)
        )
    if filters.patient_id:
        studies = studies.filter(patient_id=filters.patient_id)
    if filters.status:
        studies = studies.filter(status=filters.status)
    if filters.date_from:
        studies = studies.filter(created_at__date__gte=filters.date_from)
    if filters.date_to:
        studies = studies.filter(created_at__date__lte=filters.date_to)
    # Both describe the study's current reading: its latest prediction (as the admin does).
    # Asked from the findings' and reviews' side (a few thousand rows) and not study by study,
    # so that the count of 100,000 studies stays fast (docs/benchmarks.md, "Pages").
    if filters.flagged_finding:
        studies = studies.filter(Exists(Finding.objects.filter(
            prediction__study=OuterRef("pk"), name=filters.flagged_finding, flagged=True,
        ).filter(~Exists(_newer_prediction()))))
    if filters.reviewed is not None:
        signed = Exists(Review.objects.filter(
            prediction__study=OuterRef("pk"), signed_off_at__isnull=False,
        ).filter(~Exists(_newer_prediction())))
        studies = studies.filter(signed if filters.reviewed else ~signed)
    if filters.model_version_id:
        studies = studies.filter(Exists(Prediction.objects.filter(
            study=OuterRef("pk"), model_version_id=filters.model_version_id)))
    if filters.sort in READING_SORTS:
        studies = _with_reading_order(studies, finding=filters.flagged_finding)
    return _with_predictions(studies.order_by(*SORTS.get(filters.sort, SORTS["newest"])))


def _with_reading_order(studies: QuerySet[Study], *, finding: str) -> QuerySet[Study]:
    findings = Finding.objects.filter(prediction_id=OuterRef("reading_id"))
    if finding:
        findings = findings.filter(name=finding)
    flagged = (Finding.objects.filter(prediction_id=OuterRef("reading_id"), flagged=True)
               .values("prediction_id").annotate(count=Count("pk")).values("count")[:1])
    return studies.annotate(
        reading_id=Subquery(latest_prediction_of(OuterRef("pk")).values("pk")[:1]),
    ).annotate(
        reading_probability=Subquery(findings.order_by("-probability").values("probability")[:1]),
        reading_flagged=Subquery(flagged),
    )


# The latest reading of a study is its prediction with the highest created_at, ties broken by
# the highest pk. Every page, export, filter and the API pick it by one of the forms below.
LATEST_FIRST = ("-created_at", "-pk")


def prediction_review_of(*, prediction: Prediction, reviewer) -> Review | None:
    return next((r for r in prediction.reviews.all() if r.reviewer_id == reviewer.pk), None)


def study_next_to_review(*, after: Study) -> Study | None:
    """The newest other study that is done and whose latest reading nobody signed off: where the
    reviewer's "next study" key goes."""
    return (study_list(filters=StudyFilters(status=Study.Status.DONE, reviewed=False))
            .exclude(pk=after.pk).first())


def _recency(prediction: Prediction) -> tuple:
    return prediction.created_at, prediction.pk


def study_predictions(*, study: Study) -> list[Prediction]:
    """The study's predictions, the latest reading first; uses the prefetched predictions when
    there are any."""
    return sorted(study.predictions.all(), key=_recency, reverse=True)


def study_latest_prediction(*, study: Study) -> Prediction | None:
    """The latest reading; uses the prefetched predictions when there are any."""
    return max(study.predictions.all(), key=_recency, default=None)


def latest_prediction_of(study: OuterRef) -> QuerySet[Prediction]:
    """The latest reading of the study `study` refers to, first: for a subquery."""
    return Prediction.objects.filter(study=study).order_by(*LATEST_FIRST)


def latest_reading_findings() -> QuerySet[Finding]:
    """The findings of each study's latest reading: to count or filter from the findings' side."""
    return Finding.objects.filter(~Exists(_newer_prediction()))


def _newer_prediction() -> QuerySet[Prediction]:
    """A later prediction of the same study than the outer row's `prediction`: if one exists,
    that row is not the latest reading."""
    return Prediction.objects.filter(study_id=OuterRef("prediction__study_id")).filter(
        Q(created_at__gt=OuterRef("prediction__created_at"))
        | Q(created_at=OuterRef("prediction__created_at"), pk__gt=OuterRef("prediction_id")))


def patient_finding_trends(
    *, studies: list[Study]
) -> dict[str, list[tuple[datetime.date, float, float]]]:
    """Each finding's (date, probability, threshold) over time for one patient (newest
    prediction per study), oldest first, dated by the study date from the DICOM header, else by
    the upload. STUDIES: the patient's, as `study_list` gives them (their readings prefetched;
    the patient page reads them once for its rows and its trends)."""
    trends: dict[str, list[tuple[datetime.date, float, float]]] = {}
    for study in sorted(studies, key=study_taken_at):
        prediction = study_latest_prediction(study=study)
        if prediction is None:
            continue
        taken_at = study_taken_at(study)[0]
        for finding in prediction.findings.all():
            trends.setdefault(finding.name, []).append(
                (taken_at, finding.probability, finding.threshold))
    return trends


def study_taken_at(study: Study) -> tuple[datetime.date, datetime.datetime]:
    """When a study was taken, for ordering a patient's studies: the DICOM study date, else the
    upload's date (the upload time breaks ties)."""
    return (study.study_date or study.created_at.date(), study.created_at)


def study_previous(*, study: Study) -> Study | None:
    """The same patient's study taken just before STUDY that has a reading, or None (also when
    STUDY has no patient identifier)."""
    if not study.patient_id:
        return None
    earlier = [
        other for other in study_list(filters=StudyFilters(patient_id=study.patient_id))
        if other.pk != study.pk and study_taken_at(other) < study_taken_at(study)
        and study_latest_prediction(study=other) is not None
    ]
    return max(earlier, key=study_taken_at, default=None)
