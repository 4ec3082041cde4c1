"""The validation metrics against independent values: scikit-learn's, and hand-computed ones."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from inference.validation.metrics import (
    bootstrap_auroc_ci,
    finding_metrics,
    mean_auroc,
    operating_point,
)

LABELS = np.array([0, 0, 1, 1, 0, 1, 0, 0, 1, 0])
SCORES = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.05, 0.6, 0.3, 0.3])


def test_the_auroc_and_roc_points_equal_scikit_learns():
    metrics = finding_metrics("Effusion", LABELS, SCORES, threshold=0.5)
    assert metrics.auroc == pytest.approx(roc_auc_score(LABELS, SCORES))
    fpr, tpr, _ = roc_curve(LABELS, SCORES)
    assert [f for f, _, _ in metrics.roc] == pytest.approx(list(fpr))
    assert [t for _, t, _ in metrics.roc] == pytest.approx(list(tpr))
    # by hand: from the top score down, the first step is the positive at 0.9
    assert metrics.roc[1][:2] == (0.0, 0.25)


def test_the_auroc_equals_the_hand_counted_pairs():
    # 4 positives x 6 negatives = 24 pairs; a positive scored above a negative counts 1, a tie
    # a half. Negatives 0.1 0.4 0.2 0.05 0.6 0.3. Positives 0.35 (beats 0.1 0.2 0.05 0.3 = 4),
    # 0.8 (6), 0.9 (6), 0.3 (beats 0.1 0.2 0.05 = 3, ties 0.3 = 0.5): 19.5 / 24.
    assert finding_metrics("Effusion", LABELS, SCORES).auroc == pytest.approx(19.5 / 24)


def test_the_operating_point_counts_flagged_at_or_above_the_threshold():
    point = operating_point(LABELS, SCORES, 0.35)
    # flagged: 0.4(neg) 0.35(pos) 0.8(pos) 0.9(pos) 0.6(neg)
    assert (point.true_positives, point.false_positives) == (3, 2)
    assert (point.true_negatives, point.false_negatives) == (4, 1)
    assert point.sensitivity == pytest.approx(3 / 4)
    assert point.specificity == pytest.approx(4 / 6)
    assert point.ppv == pytest.approx(3 / 5)


def test_nothing_flagged_has_no_ppv():
    assert operating_point(LABELS, SCORES, 0.99).ppv is None


def test_the_bootstrap_interval_contains_the_estimate_and_repeats_with_its_seed():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    scores = np.clip(labels * 0.3 + rng.normal(0.4, 0.2, 300), 0, 1)
    metrics = finding_metrics("Mass", labels, scores, seed=7)
    low, high = metrics.auroc_ci
    assert low < metrics.auroc < high
    assert high - low < 0.2
    assert finding_metrics("Mass", labels, scores, seed=7).auroc_ci == (low, high)
    assert finding_metrics("Mass", labels, scores, seed=8).auroc_ci != (low, high)


def test_the_bootstrap_aurocs_are_scikit_learns_on_each_resample():
    # One resample: the vectorised rank formula against roc_auc_score on the same indices.
    rng = np.random.default_rng(5)
    index = rng.integers(0, LABELS.size, size=(1, LABELS.size))
    from inference.validation.metrics import _auroc_rows

    expected = roc_auc_score(LABELS[index[0]], SCORES[index[0]])
    assert _auroc_rows(LABELS[index], SCORES[index])[0] == pytest.approx(expected)


@pytest.mark.parametrize("labels, reason", [([0, 0, 0], "no positives"),
                                            ([1, 1, 1], "no negatives"),
                                            ([], "no studies")])
def test_a_finding_with_one_class_says_so_instead_of_a_number(labels, reason):
    metrics = finding_metrics("Hernia", labels, [0.2, 0.5, 0.9][:len(labels)], threshold=0.5)
    assert metrics.auroc is None and metrics.auroc_ci is None
    assert metrics.not_computable == reason


def test_the_calibration_curve_has_the_mean_prediction_fraction_positive_and_count_per_bin():
    points = finding_metrics("Edema", [0, 1, 1, 0, 1], [0.12, 0.18, 0.85, 0.81, 0.95]).calibration
    # bins of 0.1: [0.1, 0.2) holds 0.12 and 0.18, [0.8, 0.9) 0.85 and 0.81, [0.9, 1] 0.95
    assert points == [(pytest.approx(0.15), 0.5, 2), (pytest.approx(0.83), 0.5, 2),
                      (pytest.approx(0.95), 1.0, 1)]


def test_the_mean_auroc_leaves_out_findings_without_one():
    with_auroc = finding_metrics("Effusion", LABELS, SCORES)
    without = finding_metrics("Hernia", [0, 0], [0.1, 0.2])
    assert mean_auroc([with_auroc, without]) == pytest.approx(with_auroc.auroc)
    assert mean_auroc([without]) is None


def test_a_single_class_resample_set_has_no_interval():
    assert bootstrap_auroc_ci(np.array([1]), np.array([0.5]), resamples=10) is None
