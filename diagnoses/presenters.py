"""A study as the pages and the status endpoint show it (plain data, JSON-ready)."""

from urllib.parse import urlencode

from django.urls import reverse

from diagnoses import selectors
from diagnoses.intended_use import study_intended_use_note, study_outside_intended_use
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
        "outside_intended_use": study_outside_intended_use(study),
        "intended_use_note": study_intended_use_note(study),
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
    heatmap_url = _finding_url(prediction, "study-heatmap")
    heatmap_layer_url = _finding_url(prediction, "study-heatmap-layer")
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
                "heatmap_url": heatmap_url(f.name),
                "heatmap_layer_url": heatmap_layer_url(f.name),
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


_FINDING = "FINDING-NAME"


def _finding_url(prediction: Prediction, url_name: str):
    """The URL of one of PREDICTION's findings by name, from one reverse() per prediction: two
    per finding made 28 per study, 700 of a history page's ~50 ms. Finding names are
    identifiers (letters and underscores), which reverse() would leave as they are."""
    before, after = reverse(url_name, args=[prediction.study_id, prediction.pk, _FINDING]
                            ).rsplit(_FINDING, 1)
    return lambda name: f"{before}{name}{after}"


# A trend chart's plot area and margins (SVG user units): axes with dates and probabilities.
TREND_WIDTH, TREND_HEIGHT = 300, 120
TREND_LEFT, TREND_TOP, TREND_BOTTOM, TREND_RIGHT = 40, 10, 34, 12


def trend_chart(name: str, points: list) -> dict:
    """One finding's probabilities over time (oldest left, spaced by date) as an SVG chart:
    probability axis 0..1, the studies' dates, and the latest reading's threshold as a line."""
    label = name.replace("_", " ")
    if not points:
        return {"name": name, "label": label, "values": [], "marks": []}
    first, last = points[0][0], points[-1][0]
    span = (last - first).days

    def x(index: int, when) -> float:
        fraction = (when - first).days / span if span else (
            index / (len(points) - 1) if len(points) > 1 else 0.5)
        return TREND_LEFT + fraction * TREND_WIDTH

    def y(probability: float) -> float:
        return TREND_TOP + (1 - probability) * TREND_HEIGHT

    marks = [{"x": f"{x(i, when):.1f}", "y": f"{y(p):.1f}", "date": when, "probability": p}
             for i, (when, p, _) in enumerate(points)]
    dated = [marks[0], marks[-1]] if span else marks[:1]  # one date when all share it
    threshold = points[-1][2]
    return {
        "name": name,
        "label": label,
        "values": [(when, p) for when, p, _ in points],
        "latest": points[-1][1],
        "threshold": threshold,
        "threshold_y": f"{y(threshold):.1f}",
        "marks": marks,
        "polyline": " ".join(f"{m['x']},{m['y']}" for m in marks),
        "date_ticks": [{"x": m["x"], "date": m["date"]} for m in dated],
        "probability_ticks": [{"y": f"{y(v):.1f}", "value": v} for v in (0.0, 0.5, 1.0)],
        "left": TREND_LEFT, "right": TREND_LEFT + TREND_WIDTH,
        "top": TREND_TOP, "bottom": TREND_TOP + TREND_HEIGHT,
        "date_y": TREND_TOP + TREND_HEIGHT + 18,
        "view_box": f"0 0 {TREND_LEFT + TREND_WIDTH + TREND_RIGHT} "
                    f"{TREND_TOP + TREND_HEIGHT + TREND_BOTTOM}",
    }


def review_summary(review) -> dict:
    return {
        "reviewer": review.reviewer.get_username(),
        "note": review.note,
        "signed_off_at": review.signed_off_at.isoformat() if review.signed_off_at else None,
        "updated_at": review.updated_at.isoformat(),
        "verdicts": {v.finding.name: v.verdict for v in review.verdicts.all()},
    }


def finding_changes(current: Prediction, prior: Prediction) -> list[dict]:
    """Each finding of CURRENT beside PRIOR's: the probability difference, and whether it is
    newly flagged (flagged now, not before) or resolved (flagged before, not now)."""
    before = {f.name: f for f in prior.findings.all()}
    rows = []
    for now in sorted(current.findings.all(), key=lambda f: (not f.flagged, -f.probability)):
        then = before.get(now.name)
        change = now.probability - then.probability if then else None
        rows.append({
            "name": now.name,
            "label": now.name.replace("_", " "),
            "probability": now.probability,
            "prior_probability": then.probability if then else None,
            "change": change,
            "threshold": now.threshold,
            "flagged": now.flagged,
            "prior_flagged": bool(then and then.flagged),
            "new": now.flagged and not (then and then.flagged),
            "resolved": bool(then and then.flagged) and not now.flagged,
        })
    return rows
