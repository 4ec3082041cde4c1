"""Reads: studies for the history and the result page, with their predictions prefetched."""

import uuid

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from diagnoses.models import Finding, Prediction, Study


def _with_predictions(studies: QuerySet[Study]) -> QuerySet[Study]:
    return studies.select_related("uploaded_by").prefetch_related(
        Prefetch(
            "predictions",
            queryset=Prediction.objects.select_related("model_version").prefetch_related(
                "findings"
            ),
        )
    )


def study_get(*, study_id: uuid.UUID) -> Study:
    return get_object_or_404(_with_predictions(Study.objects.all()), pk=study_id)


def study_list(
    *, finding: str = "", min_probability: float | None = None, status: str = ""
) -> QuerySet[Study]:
    studies = Study.objects.all()
    if status:
        studies = studies.filter(status=status)
    if finding:
        findings = Finding.objects.filter(name=finding)
        if min_probability is not None:
            findings = findings.filter(probability__gte=min_probability)
        studies = studies.filter(predictions__findings__in=findings).distinct()
    return _with_predictions(studies)


def study_latest_prediction(*, study: Study) -> Prediction | None:
    """The newest prediction; uses the prefetched predictions when there are any."""
    predictions = list(study.predictions.all())
    return max(predictions, key=lambda p: p.created_at, default=None)
