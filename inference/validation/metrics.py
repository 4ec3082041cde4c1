"""Per-finding metrics of a model on labelled studies: positives, AUROC with a bootstrap 95%
confidence interval, sensitivity, specificity and PPV at a threshold, the ROC curve and the
calibration (reliability) curve. scikit-learn computes the AUROC, ROC and calibration; the
bootstrap resamples studies with a seeded generator, so the same seed gives the same interval.

A finding whose labels have no positive or no negative has no AUROC: `not_computable` says which
("no positives", "no negatives") instead of a number.
"""

from dataclasses import asdict, dataclass, field

import numpy as np

# scikit-learn and SciPy are imported where used: they add about 90 MB to every process that
# imports this module (the web's and the worker's), and a process that forks a decoding child per
# upload pays for each mapped page (docs/benchmarks.md, CPU per study outside the model).

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20171114  # any fixed seed: the interval must not change between two runs
CONFIDENCE = 0.95
CALIBRATION_BINS = 10
_CHUNK = 100  # resamples ranked at once: bounds the memory to 100 x n


@dataclass(frozen=True)
class OperatingPoint:
    """Flagged means score >= threshold, the rule every prediction is flagged by."""

    threshold: float
    true_positives: int
    false_positives: int
    true_negatives: int
    false_negatives: int

    @property
    def sensitivity(self) -> float | None:
        return _ratio(self.true_positives, self.true_positives + self.false_negatives)

    @property
    def specificity(self) -> float | None:
        return _ratio(self.true_negatives, self.true_negatives + self.false_positives)

    @property
    def ppv(self) -> float | None:
        return _ratio(self.true_positives, self.true_positives + self.false_positives)

    def as_dict(self) -> dict:
        return {**asdict(self), "sensitivity": self.sensitivity,
                "specificity": self.specificity, "ppv": self.ppv}


@dataclass(frozen=True)
class FindingMetrics:
    finding: str
    count: int
    positives: int
    negatives: int
    auroc: float | None
    auroc_ci: tuple[float, float] | None
    not_computable: str  # "", "no positives", "no negatives" or "no studies"
    operating_point: OperatingPoint | None
    roc: list[tuple[float, float, float]] = field(default_factory=list)  # fpr, tpr, threshold
    # mean predicted, fraction positive, studies
    calibration: list[tuple[float, float, int]] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["operating_point"] = self.operating_point.as_dict() if self.operating_point else None
        return data


def finding_metrics(finding: str, labels, scores, *, threshold: float | None = None,
                    resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
                    ) -> FindingMetrics:
    """`labels` 0/1 and `scores` (probabilities) of one finding, one per study."""
    labels = np.asarray(labels, dtype=np.int8)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise ValueError("labels and scores must be two 1-D arrays of the same length")
    positives = int(labels.sum())
    negatives = int(labels.size - positives)
    point = operating_point(labels, scores, threshold) if threshold is not None else None
    not_computable = ("no studies" if labels.size == 0 else "no positives" if positives == 0
                      else "no negatives" if negatives == 0 else "")
    if not_computable:
        return FindingMetrics(finding, int(labels.size), positives, negatives, None, None,
                              not_computable, point)
    from sklearn.metrics import roc_auc_score, roc_curve

    fpr, tpr, thresholds = roc_curve(labels, scores)
    return FindingMetrics(
        finding=finding, count=int(labels.size), positives=positives, negatives=negatives,
        auroc=float(roc_auc_score(labels, scores)),
        auroc_ci=bootstrap_auroc_ci(labels, scores, resamples=resamples, seed=seed),
        not_computable="", operating_point=point,
        roc=[(float(f), float(t), float(min(h, 1.0))) for f, t, h in zip(fpr, tpr, thresholds)],
        calibration=calibration_points(labels, scores),
    )


def operating_point(labels: np.ndarray, scores: np.ndarray, threshold: float) -> OperatingPoint:
    flagged = scores >= threshold
    positive = labels == 1
    return OperatingPoint(
        threshold=float(threshold),
        true_positives=int(np.sum(flagged & positive)),
        false_positives=int(np.sum(flagged & ~positive)),
        true_negatives=int(np.sum(~flagged & ~positive)),
        false_negatives=int(np.sum(~flagged & positive)),
    )


def bootstrap_auroc_ci(labels: np.ndarray, scores: np.ndarray, *,
                       resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                       confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the AUROC: studies resampled with replacement; a resample
    with one class only has no AUROC and is left out (None if every one is)."""
    rng = np.random.default_rng(seed)
    values = []
    for start in range(0, resamples, _CHUNK):
        rows = min(_CHUNK, resamples - start)
        index = rng.integers(0, labels.size, size=(rows, labels.size))
        values.append(_auroc_rows(labels[index], scores[index]))
    aurocs = np.concatenate(values)
    aurocs = aurocs[~np.isnan(aurocs)]
    if aurocs.size == 0:
        return None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(aurocs, [tail, 100 - tail])
    return float(low), float(high)


def _auroc_rows(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The AUROC of each row (Mann-Whitney U over average ranks, ties counting a half: the same
    value roc_auc_score gives); NaN for a row with one class only."""
    from scipy.stats import rankdata

    ranks = rankdata(scores, axis=1)
    positives = labels.sum(axis=1).astype(np.float64)
    negatives = labels.shape[1] - positives
    rank_sum = np.where(labels == 1, ranks, 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auroc = (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
    auroc[(positives == 0) | (negatives == 0)] = np.nan
    return auroc


def calibration_points(labels: np.ndarray, scores: np.ndarray,
                       bins: int = CALIBRATION_BINS) -> list[tuple[float, float, int]]:
    """Reliability curve, equal-width bins over [0, 1]: for each bin with studies in it, the mean
    predicted probability, the fraction positive and how many studies."""
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(labels, scores, n_bins=bins, strategy="uniform")
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], scores), minlength=bins)  # as sklearn bins
    counts = counts[counts > 0]
    return [(float(p), float(o), int(n)) for p, o, n in zip(predicted, observed, counts)]


def mean_auroc(metrics: list[FindingMetrics]) -> float | None:
    """The mean over the findings that have an AUROC (None if none has)."""
    values = [m.auroc for m in metrics if m.auroc is not None]
    return float(np.mean(values)) if values else None


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None
