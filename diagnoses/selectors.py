"""Reads: studies for the history, the patient page and the result page."""

import datetime
import uuid
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from diagnoses.models import Finding, Prediction, Review, Study

SORTS = {
    "newest": ("-created_at",),
    "oldest": ("created_at",),
    "patient": ("patient_id", "-created_at"),
    "accession": ("accession_number", "-created_at"),
    "status": ("status", "-created_at"),
}


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
            queryset=Prediction.objects.select_related("model_version").prefetch_related(
                "findings",
                Prefetch("reviews", queryset=Review.objects.select_related("reviewer")
                         .prefetch_related("verdicts__finding")),
            ),
        )
    )


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
    if filters.flagged_finding or filters.reviewed is not None:
        # Both describe the study's current reading: its latest prediction (as the admin does).
        latest = Prediction.objects.filter(study=OuterRef("pk")).order_by("-created_at", "-pk")
        studies = studies.annotate(latest_prediction_id=Subquery(latest.values("pk")[:1]))
    if filters.flagged_finding:
        studies = studies.filter(Exists(Finding.objects.filter(
            prediction_id=OuterRef("latest_prediction_id"), name=filters.flagged_finding,
            flagged=True)))
    if filters.reviewed is not None:
        signed = Exists(Review.objects.filter(
            prediction_id=OuterRef("latest_prediction_id"), signed_off_at__isnull=False))
        studies = studies.filter(signed if filters.reviewed else ~signed)
    if filters.model_version_id:
        studies = studies.filter(Exists(Prediction.objects.filter(
            study=OuterRef("pk"), model_version_id=filters.model_version_id)))
    return _with_predictions(studies.order_by(*SORTS.get(filters.sort, SORTS["newest"])))


def study_latest_prediction(*, study: Study) -> Prediction | None:
    """The newest prediction; uses the prefetched predictions when there are any."""
    predictions = list(study.predictions.all())
    return max(predictions, key=lambda p: p.created_at, default=None)


def patient_finding_trends(*, patient_id: str) -> dict[str, list[tuple[datetime.date, float]]]:
    """Each finding's probability over time for one patient (newest prediction per study),
    dated by the study date from the DICOM header, else by the upload."""
    trends: dict[str, list[tuple[datetime.date, float]]] = {}
    studies = study_list(filters=StudyFilters(patient_id=patient_id, sort="oldest"))
    for study in studies:
        prediction = study_latest_prediction(study=study)
        if prediction is None:
            continue
        taken_at = study.study_date or study.created_at.date()
        for finding in prediction.findings.all():
            trends.setdefault(finding.name, []).append((taken_at, finding.probability))
    return trends
