"""Writes about model versions: registering them and their decision thresholds."""

from django.core.exceptions import ValidationError
from django.db import transaction

from diagnoses.models import ModelVersion, ThresholdSet
from inference.findings import FINDINGS
from inference.identity import ModelIdentity


def model_version_register(
    *, identity: ModelIdentity, thresholds: dict[str, float] | None = None, user=None
) -> ModelVersion:
    """Record a model version (idempotent) and, when given, a new set of decision thresholds."""
    with transaction.atomic():
        model_version = model_version_for(identity)
        if thresholds is not None:
            threshold_set_create(model_version=model_version, thresholds=thresholds, user=user)
    return model_version


def threshold_set_create(
    *, model_version: ModelVersion, thresholds: dict[str, float], user=None, note: str = ""
) -> ThresholdSet:
    """A new threshold set; earlier predictions keep the set they were flagged with."""
    unknown = sorted(set(thresholds) - set(FINDINGS))
    missing = [name for name in FINDINGS if name not in thresholds]
    if unknown or missing:
        raise ValidationError(
            "Thresholds must name each of the 14 findings exactly once"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )
    values = {}
    for name in FINDINGS:
        value = thresholds[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValidationError(f"The threshold of {name} must be a number from 0 to 1.")
        values[name] = float(value)
    return ThresholdSet.objects.create(
        model_version=model_version, thresholds=values, created_by=user, note=note
    )


def model_version_for(identity: ModelIdentity) -> ModelVersion:
    model_version, _ = ModelVersion.objects.get_or_create(
        identity=identity.identity,
        defaults={
            "name": identity.name,
            "checkpoint_sha256": identity.checkpoint_sha256,
            "onnx_sha256": identity.onnx_sha256,
            "weights_verified": identity.weights_verified,
            "description": identity.description,
        },
    )
    return model_version
