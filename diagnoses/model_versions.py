"""Writes about model versions: registering them, their decision thresholds, and their state:
active (serves new studies and re-runs; its readings are the clinical ones), shadow (also reads
every study, for comparison only) or retired (reads nothing)."""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from diagnoses.models import ROUTINE, URGENCY_LEVELS, ModelVersion, Prediction, ThresholdSet
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
    *, model_version: ModelVersion, thresholds: dict[str, float], user=None, note: str = "",
    urgencies: dict[str, str] | None = None,
) -> ThresholdSet:
    """A new threshold set; earlier predictions keep the set they were flagged with.
    `urgencies`: finding -> urgent or priority (the worklist's order); routine when left out."""
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
    urgent = {name: level for name, level in (urgencies or {}).items() if level != ROUTINE}
    if set(urgent) - set(FINDINGS) or set(urgent.values()) - set(URGENCY_LEVELS):
        raise ValidationError("Urgencies name findings, each urgent, priority or routine.")
    return ThresholdSet.objects.create(
        model_version=model_version, thresholds=values, created_by=user, note=note,
        urgencies=urgent,
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
    """Make `model_version` the one active version: new studies and re-runs go to its server.
    The version active before is retired. Promoting a shadow version is this too."""
    State = ModelVersion.State
    with transaction.atomic():
        list(ModelVersion.objects.select_for_update().values_list("pk", flat=True))
        ModelVersion.objects.filter(state=State.ACTIVE).exclude(pk=model_version.pk).update(
            state=State.RETIRED
        )
        ModelVersion.objects.filter(pk=model_version.pk).update(state=State.ACTIVE)
    model_version.refresh_from_db()
    logger.info("model version %s activated by %s", model_version.pk, user)
    return model_version


def model_version_shadow(*, model_version: ModelVersion, user) -> ModelVersion:
    """Run `model_version` in shadow: every study is also sent to its own server(s) after the
    active version has read it, and its readings are kept for comparison only. It needs a
    serving URL of its own (else it would read from the active version's servers)."""
    if not model_version.serving_url:
        raise ValidationError("A shadow model version needs a serving URL of its own.",
                              code="no_serving_url")
    if model_version.state == ModelVersion.State.ACTIVE:
        raise ValidationError("The active model version cannot be put in shadow: activate "
                              "another one first.", code="active")
    ModelVersion.objects.filter(pk=model_version.pk).update(state=ModelVersion.State.SHADOW)
    model_version.refresh_from_db()
    logger.info("model version %s put in shadow by %s", model_version.pk, user)
    return model_version


def model_version_retire(*, model_version: ModelVersion, user) -> ModelVersion:
    """Stop sending studies to a shadow version (the active one is retired by activating
    another)."""
    if model_version.state == ModelVersion.State.ACTIVE:
        raise ValidationError("The active model version is retired by activating another one.",
                              code="active")
    ModelVersion.objects.filter(pk=model_version.pk).update(state=ModelVersion.State.RETIRED)
    model_version.refresh_from_db()
    logger.info("model version %s retired by %s", model_version.pk, user)
    return model_version


def active_model_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(state=ModelVersion.State.ACTIVE).first()


def shadow_model_versions() -> list[ModelVersion]:
    return list(ModelVersion.objects.filter(state=ModelVersion.State.SHADOW).order_by("pk"))


def model_version_reading_new_studies() -> tuple[ModelVersion | None, bool]:
    """The model version new studies go to, and whether it is pinned (activated). With none
    active, the server at GRAPHPIPE_URL reads them: the version of the newest prediction is the
    best the database knows of it (None before any)."""
    active = active_model_version()
    if active is not None:
        return active, True
    newest = Prediction.objects.select_related("model_version").order_by("-created_at", "-pk")
    newest = newest.first()
    return (newest.model_version if newest else None), False
