"""Shadow readings: each study is also sent to every shadow model version, after its clinical
reading is stored, and the shadow version's reading is kept for comparison only.

A shadow reading runs in its own Celery task (diagnoses.tasks.read_study_in_shadow), queued once
the clinical prediction is committed: whatever the shadow server does (down, slow, a wrong
answer), the clinical result was stored and sent before, and a failed shadow reading is logged
and dropped, never retried into the clinical path. Shadow readings live in ShadowPrediction,
which no page, export, API or callback reads (they read Prediction, the clinical readings, through
diagnoses.selectors); only the admin's agreement page does (diagnoses/shadow_agreement.py).
"""

import logging
import uuid

from django.db import IntegrityError, transaction

from diagnoses.model_server import model_server_client_for
from diagnoses.model_versions import model_version_for, shadow_model_versions
from diagnoses.models import ModelVersion, ShadowPrediction, Study
from inference.graphpipe.client import GraphPipeError
from inference.imaging.preprocessing import ImageError
from inference.pipeline import diagnose_image

logger = logging.getLogger(__name__)
READ_TASK = "diagnoses.tasks.read_study_in_shadow"
# Shadow readings have a queue and a worker of their own (Procfile `shadow`): a shadow server that
# hangs holds that worker only, never the one reading clinical studies.
SHADOW_QUEUE = "shadow"


def shadow_readings_queue(*, study_id: uuid.UUID, read_by: ModelVersion) -> None:
    """After a clinical reading by `read_by` is committed: one task per other shadow version.
    Called with on_commit(robust=True): a broker that is down costs the shadow readings only."""
    from celery import current_app

    for version in shadow_model_versions():
        if version.pk != read_by.pk:
            current_app.send_task(READ_TASK, args=[str(study_id), version.pk],
                                  queue=SHADOW_QUEUE)


def study_shadow_read(*, study_id: uuid.UUID, model_version_id: int) -> ShadowPrediction | None:
    """Read a study with a shadow version and keep the reading; None (logged) when the study,
    the version or its server cannot give one. Never raises for a server or image problem."""
    from diagnoses.services import model_input_image  # services queues this module's tasks

    version = ModelVersion.objects.filter(pk=model_version_id,
                                          state=ModelVersion.State.SHADOW).first()
    study = Study.objects.filter(pk=study_id, status=Study.Status.DONE).first()
    if version is None or study is None or not version.serving_url:
        return None
    existing = ShadowPrediction.objects.filter(study=study, model_version=version).first()
    if existing is not None:
        return existing
    try:
        diagnosis = diagnose_image(model_input_image(study),
                                   model_server_client_for(version.serving_url),
                                   tencrop=study.tencrop)
    except (GraphPipeError, ImageError, OSError) as error:
        logger.warning("shadow reading of study %s by model version %s failed: %s",
                       study_id, version.pk, type(error).__name__)
        return None
    if model_version_for(diagnosis.model).pk != version.pk:
        logger.warning("shadow reading of study %s: the server of model version %s serves "
                       "another model; not kept", study_id, version.pk)
        return None
    return _shadow_prediction_store(study, version, diagnosis)


def _shadow_prediction_store(study, version, diagnosis) -> ShadowPrediction | None:
    threshold_set = version.current_thresholds()
    thresholds = threshold_set.thresholds
    try:
        with transaction.atomic():
            return ShadowPrediction.objects.create(
                study=study, model_version=version, threshold_set=threshold_set,
                preprocessing=diagnosis.preprocessing,
                probabilities={name: round(float(p), 6)
                               for name, p in diagnosis.probabilities.items()},
                flagged=[name for name, p in diagnosis.probabilities.items()
                         if p >= thresholds[name]],
                inference_ms=diagnosis.inference_ms,
            )
    except IntegrityError:  # a redelivered task stored it meanwhile
        return ShadowPrediction.objects.filter(study=study, model_version=version).first()
