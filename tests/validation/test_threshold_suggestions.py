"""Thresholds suggested from seeded reviewed studies: they reach the target sensitivity on that
set, a finding with too few positives gets none and says why, and only an admin applies a draft,
which makes a new threshold set version, audited."""

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from diagnoses.models import AuditEvent, ThresholdSet
from diagnoses.threshold_suggestions import threshold_suggestion_apply, threshold_suggestion_create
from diagnoses.validation import ReviewedFilters, reviewed_labelled_scores, verdict_label
from inference.findings import FINDINGS

pytestmark = pytest.mark.django_db


def test_a_verdict_labels_the_finding_by_what_was_flagged():
    assert verdict_label(verdict="agree", flagged=True) == 1
    assert verdict_label(verdict="disagree", flagged=True) == 0
    assert verdict_label(verdict="agree", flagged=False) == 0
    assert verdict_label(verdict="disagree", flagged=False) == 1


def test_the_reviewed_labels_are_the_seeded_ones(reviewed_studies, model_version):
    labels, scores = reviewed_studies(count=30)
    data, studies = reviewed_labelled_scores(
        filters=ReviewedFilters(model_version_id=model_version.pk))
    assert studies == 30
    got = sorted(zip(data.scores["Effusion"], data.labels["Effusion"]))
    expected = sorted(zip(scores.tolist(), labels.tolist()))
    assert [label for _, label in got] == [label for _, label in expected]
    assert [score for score, _ in got] == pytest.approx([score for score, _ in expected])
    assert data.labels["Mass"] == []


@pytest.mark.parametrize("target", [0.8, 0.9, 0.95])
def test_the_suggestion_reaches_the_target_sensitivity_on_the_reviewed_set(
        reviewed_studies, model_version, administrator, target):
    labels, scores = reviewed_studies(count=60)
    suggestion = threshold_suggestion_create(model_version=model_version, method="sensitivity",
                                             target_sensitivity=target, user=administrator)
    effusion = next(f for f in suggestion.findings if f["finding"] == "Effusion")
    threshold = effusion["new"]["threshold"]
    reached = np.mean(scores[labels == 1] >= threshold)
    assert reached >= target
    assert effusion["new"]["sensitivity"] == pytest.approx(reached)
    # the highest such threshold: one step up loses the target
    higher = scores[labels == 1][scores[labels == 1] > threshold]
    assert np.mean(scores[labels == 1] >= higher.min()) < target if higher.size else True
    assert effusion["positives"] == int(labels.sum())
    assert effusion["old"]["threshold"] == 0.5
    assert suggestion.thresholds["Effusion"] == threshold and suggestion.is_draft


def test_youdens_j_picks_the_best_sum_of_sensitivity_and_specificity(
        reviewed_studies, model_version, administrator):
    labels, scores = reviewed_studies(count=60)
    suggestion = threshold_suggestion_create(model_version=model_version, method="youden",
                                             user=administrator)
    new = next(f for f in suggestion.findings if f["finding"] == "Effusion")["new"]
    best = max(np.mean(scores[labels == 1] >= t) + np.mean(scores[labels == 0] < t)
               for t in scores)
    assert new["sensitivity"] + new["specificity"] == pytest.approx(best)


def test_too_few_positives_give_no_suggestion_and_why(reviewed_studies, model_version,
                                                      administrator):
    reviewed_studies(count=12)
    suggestion = threshold_suggestion_create(model_version=model_version, method="youden",
                                             user=administrator)
    mass = next(f for f in suggestion.findings if f["finding"] == "Mass")
    assert mass["new"] is None and mass["reason"].startswith("0 reviewed positives")
    assert suggestion.thresholds["Mass"] == 0.5


def test_applying_makes_a_new_threshold_set_version_audited(reviewed_studies, model_version,
                                                            administrator):
    reviewed_studies(count=40)
    before = model_version.current_thresholds()
    suggestion = threshold_suggestion_create(model_version=model_version, method="sensitivity",
                                             target_sensitivity=0.9, user=administrator)
    new_set = threshold_suggestion_apply(suggestion=suggestion, user=administrator)
    model_version.refresh_from_db()
    assert model_version.current_threshold_set() == new_set != before
    assert new_set.thresholds == suggestion.thresholds
    assert set(new_set.thresholds) == set(FINDINGS)
    assert ThresholdSet.objects.filter(model_version=model_version).count() == 2
    assert suggestion.threshold_set == new_set and not suggestion.is_draft
    assert AuditEvent.objects.filter(user=administrator, action="change", channel="admin",
                                     detail__contains=f"suggestion #{suggestion.pk}").exists()
    with pytest.raises(ValidationError, match="applied already"):
        threshold_suggestion_apply(suggestion=suggestion, user=administrator)


def test_a_reviewer_cannot_apply(reviewed_studies, model_version, reviewer):
    reviewed_studies(count=20)
    suggestion = threshold_suggestion_create(model_version=model_version, method="youden",
                                             user=reviewer)
    with pytest.raises(PermissionDenied):
        threshold_suggestion_apply(suggestion=suggestion, user=reviewer)
    assert suggestion.is_draft and ThresholdSet.objects.count() == 1
