"""Writes about model versions: registering them, their decision thresholds, and which one is
active (serves new studies and re-runs)."""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from diagnoses.models import ModelVersion, ThresholdSet
from inference.graphpipe.client import GraphPipeClient, GraphPipeError
from inference.findings import FINDINGS
from inference.identity import ModelIdentity, model_identity
from inference.precision import agreement_problems

logger = logging.getLogger(__name__)


def model_version_register(
    *, identity: ModelIdentity, thresholds: dict[str, float] | None = None, user=None
) -> ModelVersion:
    """Record a model version (idempotent) and, when given, a new set of decision thresholds.
    A reduced-precision model is refused unless its agreement report with fp32 is within the
    tolerances of `inference.precision`."""
    problems = agreement_problems(identity.precision, identity.agreement)
    if problems:
        raise ValidationError(
            f"This {identity.precision} model is refused: " + "; ".join(problems) + ".",
            code="precision")
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
            "precision": identity.precision,
        },
    )
    return model_version


def model_version_register_from_server(*, serving_url: str, user=None) -> ModelVersion:
    """Ask the GraphPipe server at `serving_url` which model it serves, record that model version
    (idempotent) and serve it from there. The identity and whether the weights are verified come
    from the server, never from a form."""
    try:
        with GraphPipeClient(serving_url, connect_timeout=settings.GRAPHPIPE_CONNECT_TIMEOUT,
                             read_timeout=settings.GRAPHPIPE_READ_TIMEOUT) as client:
            metadata = client.metadata()
    except GraphPipeError as error:
        raise ValidationError(f"The model server at {serving_url} did not describe its model: "
                              f"{error}", code="model_server") from error
    with transaction.atomic():
        model_version = model_version_register(identity=model_identity(metadata), user=user)
        ModelVersion.objects.filter(pk=model_version.pk).update(serving_url=serving_url)
    model_version.refresh_from_db()
    logger.info("model version %s registered at %s by %s", model_version.pk, serving_url, user)
    return model_version


def model_version_activate(*, model_version: ModelVersion, user) -> ModelVersion:
    """Make `model_version` the one active version: new studies and re-runs go to its server."""
    with transaction.atomic():
        list(ModelVersion.objects.select_for_update().values_list("pk", flat=True))
        ModelVersion.objects.filter(is_active=True).exclude(pk=model_version.pk).update(
            is_active=False
        )
        ModelVersion.objects.filter(pk=model_version.pk).update(is_active=True)
    model_version.refresh_from_db()
    logger.info("model version %s activated by %s", model_version.pk, user)
    return model_version


def active_model_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).first()
