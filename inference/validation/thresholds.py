"""Suggesting a finding's decision threshold from labelled scores: the highest threshold that
reaches a target sensitivity, or the one that maximises Youden's J (sensitivity + specificity -
1). Too few positives or negatives give no suggestion, and say why.

Flagged means score >= threshold, as for every prediction."""

import math
from dataclasses import dataclass

import numpy as np

from inference.validation.metrics import OperatingPoint, operating_point

# Below this many positives (or negatives) a threshold is set by a handful of studies: no
# suggestion. 10 each puts each one-study step of sensitivity at no more than 10%.
MIN_POSITIVES = 10
MIN_NEGATIVES = 10
YOUDEN = "youden"
TARGET_SENSITIVITY = "sensitivity"


@dataclass(frozen=True)
class SuggestedThreshold:
    finding: str
    positives: int
    negatives: int
    old: OperatingPoint
    new: OperatingPoint | None  # None: no suggestion
    reason: str  # why there is none ("" when there is one)

    def as_dict(self) -> dict:
        return {"finding": self.finding, "positives": self.positives,
                "negatives": self.negatives, "old": self.old.as_dict(),
                "new": self.new.as_dict() if self.new else None, "reason": self.reason}


def suggest_threshold(finding: str, labels, scores, *, old_threshold: float, method: str,
                      target_sensitivity: float | None = None) -> SuggestedThreshold:
    labels = np.asarray(labels, dtype=np.int8)
    scores = np.asarray(scores, dtype=np.float64)
    positives = int(labels.sum())
    negatives = int(labels.size - positives)
    old = operating_point(labels, scores, old_threshold)
    reason = ""
    if positives < MIN_POSITIVES:
        reason = f"{positives} reviewed positives; a suggestion needs {MIN_POSITIVES} at least"
    elif negatives < MIN_NEGATIVES:
        reason = f"{negatives} reviewed negatives; a suggestion needs {MIN_NEGATIVES} at least"
    if reason:
        return SuggestedThreshold(finding, positives, negatives, old, None, reason)
    if method == TARGET_SENSITIVITY:
        if target_sensitivity is None or not 0 < target_sensitivity <= 1:
            raise ValueError("a target sensitivity is a number above 0 and at most 1")
        threshold = sensitivity_threshold(labels, scores, target_sensitivity)
    elif method == YOUDEN:
        threshold = youden_threshold(labels, scores)
    else:
        raise ValueError(f"unknown method {method!r}")
    return SuggestedThreshold(finding, positives, negatives, old,
                               operating_point(labels, scores, threshold), "")


def sensitivity_threshold(labels: np.ndarray, scores: np.ndarray, target: float) -> float:
    """The highest threshold flagging at least `target` of the positives: the k-th highest
    positive score, k = ceil(target x positives)."""
    positive_scores = np.sort(scores[labels == 1])[::-1]
    needed = max(1, math.ceil(target * positive_scores.size - 1e-9))
    return float(positive_scores[needed - 1])


def youden_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_curve  # imported where used, see metrics.py

    fpr, tpr, thresholds = roc_curve(labels, scores)
    best = int(np.argmax(tpr - fpr))
    return float(min(thresholds[best], 1.0))
