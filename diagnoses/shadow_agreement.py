"""Reads: how a shadow model version agrees with the clinical readings, over the studies both
read. Per finding: the mean |difference| of the probabilities, and Cohen's kappa of the flags
(scikit-learn's cohen_kappa_score); and the studies where any flag differs.

Only the admin reads this (staff with the right to change model versions): shadow readings are
never shown to clinicians, exported or sent."""

import math
import uuid
from dataclasses import dataclass, field

from diagnoses import selectors
from diagnoses.models import ModelVersion, Prediction, ShadowPrediction
from inference.findings import FINDINGS

DISAGREEING_LISTED = 200


@dataclass(frozen=True)
class FindingAgreement:
    name: str
    mean_abs_difference: float
    kappa: float | None  # None: undefined (both flagged it never, or always, alike)
    flags_agree: int
    clinical_flagged: int
    shadow_flagged: int

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


@dataclass(frozen=True)
class Disagreement:
    study_id: uuid.UUID
    clinical_only: list[str]  # flagged by the clinical reading only
    shadow_only: list[str]  # flagged by the shadow reading only


@dataclass(frozen=True)
class ShadowAgreement:
    model_version: ModelVersion
    studies: int
    findings: list[FindingAgreement] = field(default_factory=list)
    disagreeing: list[Disagreement] = field(default_factory=list)
    disagreeing_count: int = 0


def shadow_agreement(*, model_version: ModelVersion) -> ShadowAgreement:
    pairs = list(_pairs(model_version))
    if not pairs:
        return ShadowAgreement(model_version=model_version, studies=0)
    findings = []
    for name in FINDINGS:
        clinical = [p.probabilities[name] for p, _ in pairs]
        shadow = [s.probabilities[name] for _, s in pairs]
        clinical_flags = [name in p.flagged for p, _ in pairs]
        shadow_flags = [name in s.flagged for _, s in pairs]
        findings.append(FindingAgreement(
            name=name,
            mean_abs_difference=sum(abs(a - b) for a, b in zip(clinical, shadow)) / len(pairs),
            kappa=_kappa(clinical_flags, shadow_flags),
            flags_agree=sum(a == b for a, b in zip(clinical_flags, shadow_flags)),
            clinical_flagged=sum(clinical_flags),
            shadow_flagged=sum(shadow_flags),
        ))
    disagreeing = [
        Disagreement(study_id=s.study_id, clinical_only=sorted(set(p.flagged) - set(s.flagged)),
                     shadow_only=sorted(set(s.flagged) - set(p.flagged)))
        for p, s in pairs if set(p.flagged) != set(s.flagged)
    ]
    return ShadowAgreement(model_version=model_version, studies=len(pairs), findings=findings,
                           disagreeing=disagreeing[:DISAGREEING_LISTED],
                           disagreeing_count=len(disagreeing))


@dataclass(frozen=True)
class _Reading:
    study_id: uuid.UUID
    probabilities: dict[str, float]
    flagged: list[str]


def _pairs(model_version: ModelVersion):
    """(clinical reading, shadow reading) of each study both read: the study's latest clinical
    prediction, by another model version."""
    shadows = {s.study_id: s for s in ShadowPrediction.objects.filter(model_version=model_version)}
    predictions = (Prediction.objects.filter(study_id__in=shadows)
                   .exclude(model_version=model_version).defer("heatmaps")
                   .prefetch_related("findings").order_by(*selectors.LATEST_FIRST))
    seen = set()
    for prediction in predictions:
        if prediction.study_id in seen:
            continue
        seen.add(prediction.study_id)
        findings = list(prediction.findings.all())
        clinical = _Reading(prediction.study_id, {f.name: f.probability for f in findings},
                            [f.name for f in findings if f.flagged])
        shadow = shadows[prediction.study_id]
        yield clinical, _Reading(shadow.study_id, shadow.probabilities, shadow.flagged)


def _kappa(a: list[bool], b: list[bool]) -> float | None:
    if len(set(a) | set(b)) < 2:
        return None  # one class only: kappa is 0/0
    from sklearn.metrics import cohen_kappa_score  # where used: inference/validation/metrics.py

    kappa = cohen_kappa_score(a, b)
    return None if math.isnan(kappa) else float(kappa)
