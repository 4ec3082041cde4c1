"""The population stability index against its hand computation, and its warning levels."""

import math

import pytest

from inference.validation.drift import (
    SCORE_BIN_EDGES,
    psi,
    psi_from_counts,
    psi_level,
    score_bin_counts,
)


def test_psi_of_two_known_histograms_equals_the_hand_computation():
    baseline = [50, 30, 20]
    current = [30, 30, 40]
    expected = ((0.3 - 0.5) * math.log(0.3 / 0.5) + 0 + (0.4 - 0.2) * math.log(0.4 / 0.2))
    assert psi_from_counts(baseline, current) == pytest.approx(expected)
    assert psi_from_counts(baseline, current) == pytest.approx(0.2408, abs=1e-4)


def test_the_same_distribution_is_stable_at_zero():
    assert psi_from_counts([10, 20, 30], [20, 40, 60]) == pytest.approx(0.0)


def test_an_empty_bin_counts_as_a_small_fraction_instead_of_infinity():
    value = psi_from_counts([100, 0], [50, 50])
    assert math.isfinite(value) and value > 0.25


def test_no_scores_in_a_period_gives_no_value():
    assert psi_from_counts([0, 0], [1, 2]) is None
    assert psi_level(None) == "no data"


@pytest.mark.parametrize("value, level", [(0.0, "stable"), (0.099, "stable"), (0.1, "moderate"),
                                          (0.25, "moderate"), (0.2501, "significant")])
def test_the_warning_levels(value, level):
    assert psi_level(value) == level


def test_scores_are_binned_on_the_fixed_edges_one_included():
    counts = score_bin_counts([0.0, 0.005, 0.5, 1.0])
    assert len(counts) == len(SCORE_BIN_EDGES) - 1
    assert counts[0] == 2 and counts[-1] == 1 and sum(counts) == 4


def test_psi_of_scores_bins_them_first():
    assert psi([0.001, 0.5], [0.001, 0.5]) == pytest.approx(0.0)
    assert psi_level(psi([0.001] * 10, [0.9] * 10)) == "significant"
