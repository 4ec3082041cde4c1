"""Writes: thresholds suggested from reviewed studies, saved as a draft, and an admin applying
one, which makes a new threshold set of the model version (audited)."""

import datetime
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from diagnoses.audit import audit_record
from diagnoses.model_versions import threshold_set_create
from diagnoses.models import ModelVersion, ThresholdSet, ThresholdSuggestion
from diagnoses.validation import ReviewedFilters, reviewed_labelled_scores
from inference.findings import FINDINGS
from inference.validation.thresholds import suggest_threshold

logger = logging.getLogger(__name__)

APPLY_PERMISSION = "diagnoses.add_thresholdset"  # the admin role's, as for a threshold set by hand


def threshold_suggestion_create(
    *, model_version: ModelVersion, method: str, target_sensitivity: float | None = None,
    date_from: datetime.date | None = None, date_to: datetime.date | None = None, user,
) -> ThresholdSuggestion:
    """Propose a threshold per finding from the model version's reviewed studies, against its
    current threshold set; saved as a draft. A finding with too few reviewed positives or
    negatives keeps its threshold, and the draft says why."""
    if method not in ThresholdSuggestion.Method.values:
        raise ValidationError(f"Unknown method {method!r}.")
    based_on = model_version.current_thresholds()
    data, _ = reviewed_labelled_scores(filters=ReviewedFilters(
        model_version_id=model_version.pk, date_from=date_from, date_to=date_to))
    findings, thresholds = [], {}
    for name in FINDINGS:
        suggestion = suggest_threshold(
            name, data.labels[name], data.scores[name], old_threshold=based_on.thresholds[name],
            method=method, target_sensitivity=target_sensitivity)
        findings.append(suggestion.as_dict())
        thresholds[name] = suggestion.new.threshold if suggestion.new else \
            based_on.thresholds[name]
    suggestion = ThresholdSuggestion.objects.create(
        model_version=model_version, based_on=based_on, method=method,
        target_sensitivity=target_sensitivity if method == "sensitivity" else None,
        date_from=date_from, date_to=date_to, findings=findings, thresholds=thresholds,
        created_by=user)
    audit_record(user=user, action="create", channel="admin",
                 detail=f"threshold suggestion #{suggestion.pk} for model version "
                        f"{model_version.pk} (draft)")
    return suggestion


def threshold_suggestion_apply(*, suggestion: ThresholdSuggestion, user) -> ThresholdSet:
    """An admin applies a draft: its thresholds become the model version's new threshold set
    (predictions made before keep theirs). Applying twice is refused."""
    if not user.has_perm(APPLY_PERMISSION):
        raise PermissionDenied("Only an admin applies suggested thresholds.")
    with transaction.atomic():
        locked = ThresholdSuggestion.objects.select_for_update().get(pk=suggestion.pk)
        if not locked.is_draft:
            raise ValidationError(f"Suggestion #{locked.pk} was applied already.",
                                  code="applied")
        threshold_set = threshold_set_create(
            model_version=locked.model_version, thresholds=locked.thresholds, user=user,
            note=f"Applied from suggestion #{locked.pk} ({locked.get_method_display()}"
                 + (f" {locked.target_sensitivity:.2f}" if locked.target_sensitivity else "")
                 + ", from reviewed studies)")
        ThresholdSuggestion.objects.filter(pk=locked.pk).update(
            applied_at=timezone.now(), applied_by=user, threshold_set=threshold_set)
        audit_record(user=user, action="change", channel="admin",
                     detail=f"applied threshold suggestion #{locked.pk}: threshold set "
                            f"#{threshold_set.pk} of model version {locked.model_version_id}")
    suggestion.refresh_from_db()
    logger.info("threshold suggestion %s applied by %s", suggestion.pk, user)
    return threshold_set
