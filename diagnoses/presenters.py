"""A study as the pages and the status endpoint show it (plain data, JSON-ready)."""

from django.urls import reverse

from diagnoses import selectors
from diagnoses.models import Study


def study_summary(study: Study) -> dict:
    prediction = selectors.study_latest_prediction(study=study)
    summary = {
        "id": str(study.pk),
        "url": reverse("study-detail", args=[study.pk]),
        "status": study.status,
        "status_label": study.get_status_display(),
        "finished": study.is_finished,
        "failure_reason": study.failure_reason,
        "patient_id": study.patient_id,
        "accession_number": study.accession_number,
        "original_filename": study.original_filename,
        "tencrop": study.tencrop,
        "created_at": study.created_at.isoformat(),
        "prediction": None,
    }
    if prediction is not None:
        model = prediction.model_version
        summary["prediction"] = {
            "findings": [
                {"name": f.name, "label": f.name.replace("_", " "), "probability": f.probability}
                for f in sorted(prediction.findings.all(), key=lambda f: -f.probability)
            ],
            "preprocessing": prediction.preprocessing,
            "preprocessing_label": prediction.get_preprocessing_display(),
            "preprocessing_ms": round(prediction.preprocessing_ms, 1),
            "inference_ms": round(prediction.inference_ms, 1),
            "model": {
                "name": model.name,
                "identity": model.short_identity,
                "checkpoint_sha256": model.checkpoint_sha256,
                "onnx_sha256": model.onnx_sha256,
                "weights_verified": model.weights_verified,
                "warning": model.warning,
            },
        }
    return summary
