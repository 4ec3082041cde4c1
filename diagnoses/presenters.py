"""A study as the pages and the status endpoint show it (plain data, JSON-ready)."""

from urllib.parse import urlencode

from django.urls import reverse

from diagnoses import selectors
from diagnoses.models import Prediction, Study


def study_summary(study: Study) -> dict:
    prediction = selectors.study_latest_prediction(study=study)
    return {
        "id": str(study.pk),
        "url": reverse("study-detail", args=[study.pk]),
        "image_url": reverse("study-image", args=[study.pk]),
        "thumbnail_url": reverse("study-thumbnail", args=[study.pk]),
        "status": study.status,
        "status_label": study.get_status_display(),
        "finished": study.is_finished,
        "failure_reason": study.failure_reason,
        "patient_id": study.patient_id,
        "accession_number": study.accession_number,
        "study_date": study.study_date.isoformat() if study.study_date else None,
        "modality": study.modality,
        "view_position": study.view_position,
        "image_format": study.image_format,
        "image_warnings": study.image_warnings,
        "original_filename": study.original_filename,
        "tencrop": study.tencrop,
        "created_at": study.created_at.isoformat(),
        "prediction": prediction_summary(prediction) if prediction else None,
        "predictions_count": len(study.predictions.all()),
        "patient_url": patient_url(study.patient_id) if study.patient_id else "",
    }


def patient_url(patient_id: str) -> str:
    """The patient page; the identifier goes in the query string, which no log records."""
    return f"{reverse('patient-detail')}?{urlencode({'id': patient_id})}"


def prediction_summary(prediction: Prediction) -> dict:
    model = prediction.model_version
    findings = sorted(prediction.findings.all(), key=lambda f: (not f.flagged, -f.probability))
    return {
        "id": prediction.pk,
        "created_at": prediction.created_at.isoformat(),
        "findings": [
            {
                "name": f.name,
                "label": f.name.replace("_", " "),
                "probability": f.probability,
                "threshold": f.threshold,
                "flagged": f.flagged,
                "heatmap_url": reverse(
                    "study-heatmap", args=[prediction.study_id, prediction.pk, f.name]
                ),
                "heatmap_layer_url": reverse(
                    "study-heatmap-layer", args=[prediction.study_id, prediction.pk, f.name]
                ),
            }
            for f in findings
        ],
        "flagged": [f.name for f in findings if f.flagged],
        "flagged_labels": [f.name.replace("_", " ") for f in findings if f.flagged],
        "reviews": [review_summary(review) for review in prediction.reviews.all()],
        "threshold_set": prediction.threshold_set_id,
        "preprocessing": prediction.preprocessing,
        "preprocessing_label": prediction.get_preprocessing_display(),
        "preprocessing_ms": round(prediction.preprocessing_ms, 1),
        "inference_ms": round(prediction.inference_ms, 1),
        "model": {
            "id": model.pk,
            "name": model.name,
            "identity": model.short_identity,
            "checkpoint_sha256": model.checkpoint_sha256,
            "onnx_sha256": model.onnx_sha256,
            "weights_verified": model.weights_verified,
            "warning": model.warning,
        },
    }


TREND_WIDTH, TREND_HEIGHT = 240, 48


def trend_chart(name: str, points: list) -> dict:
    """One finding's probabilities over time as an SVG polyline (oldest left)."""
    if not points:
        return {"name": name, "label": name.replace("_", " "), "points": "", "values": []}
    first, last = points[0][0], points[-1][0]
    span = max((last - first).days, 1)
    coordinates = []
    for index, (when, probability) in enumerate(points):
        x = ((when - first).days / span if last != first else index / max(len(points) - 1, 1))
        coordinates.append(f"{x * TREND_WIDTH:.1f},{(1 - probability) * TREND_HEIGHT:.1f}")
    return {
        "name": name,
        "label": name.replace("_", " "),
        "points": " ".join(coordinates),
        "values": points,
        "latest": points[-1][1],
    }


def review_summary(review) -> dict:
    return {
        "reviewer": review.reviewer.get_username(),
        "note": review.note,
        "signed_off_at": review.signed_off_at.isoformat() if review.signed_off_at else None,
        "updated_at": review.updated_at.isoformat(),
        "verdicts": {v.finding.name: v.verdict for v in review.verdicts.all()},
    }
