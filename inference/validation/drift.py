"""Score drift: the population stability index (PSI) of a finding's scores in a period against a
baseline period, and its warning level.

    PSI = sum over bins of (current_i - baseline_i) * ln(current_i / baseline_i)

with current_i and baseline_i the fractions of scores in bin i. The levels are the credit-scoring
convention (Siddiqi, "Credit Risk Scorecards", Wiley 2006; Yurdakul, "Statistical properties of
the population stability index", 2018): below 0.1 stable, 0.1 to 0.25 a moderate shift, above
0.25 a significant one.

The bins are fixed (SCORE_BIN_EDGES), so a count per bin is all a period needs and the database
can do the counting. CheXNet's probabilities crowd near 0, hence the finer bins there.
"""

import math

import numpy as np

SCORE_BIN_EDGES: tuple[float, ...] = (
    0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0000001)
STABLE_BELOW = 0.1
SIGNIFICANT_ABOVE = 0.25
# An empty bin would make the logarithm infinite: its fraction counts as this much instead.
EMPTY_BIN_FRACTION = 1e-4


def score_bin_counts(scores) -> list[int]:
    """How many scores fall in each bin [edge_i, edge_i+1)."""
    counts, _ = np.histogram(np.asarray(scores, dtype=np.float64), bins=SCORE_BIN_EDGES)
    return [int(c) for c in counts]


def psi_from_counts(baseline: list[int], current: list[int]) -> float | None:
    """PSI of two histograms over the same bins; None when either has no scores."""
    if len(baseline) != len(current):
        raise ValueError("the two histograms must have the same bins")
    total_baseline, total_current = sum(baseline), sum(current)
    if total_baseline == 0 or total_current == 0:
        return None
    value = 0.0
    for b, c in zip(baseline, current):
        expected = max(b / total_baseline, EMPTY_BIN_FRACTION)
        actual = max(c / total_current, EMPTY_BIN_FRACTION)
        value += (actual - expected) * math.log(actual / expected)
    return value


def psi(baseline_scores, current_scores) -> float | None:
    return psi_from_counts(score_bin_counts(baseline_scores), score_bin_counts(current_scores))


def psi_level(value: float | None) -> str:
    """"stable", "moderate" or "significant"; "no data" without a value."""
    if value is None:
        return "no data"
    if value < STABLE_BELOW:
        return "stable"
    return "moderate" if value <= SIGNIFICANT_ABOVE else "significant"
