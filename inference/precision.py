"""A model's numeric precision, and how closely a reduced-precision model must agree with fp32.

`python -m inference.model.export --precision int8|fp16` writes an agreement report into the
model's metadata (`precision`, `agreement`): the quantized model against the fp32 one on the
images the export was given. Registering a model version (`diagnoses.model_versions`) refuses a
reduced-precision model without a report, or whose report breaks a tolerance below.

The tolerances bound what a user of ChexWeb could see change:
- mean |difference| of probabilities <= 0.01: the result page shows whole percents, so on
  average less than one displayed point moves;
- max |difference| <= 0.05: no single finding's probability moves by more than five points;
- flags changed <= 1% of (image, finding) pairs at the default threshold 0.5: a flag can only
  change for a probability within 0.05 of its threshold, and then rarely;
- CAM correlation (Pearson, per image and finding, fp32 vs reduced) >= 0.95 at its lowest: the
  heat map shows the same regions;
- at least 5 images: a report on one or two images says little.
They are a stated choice for this product, not a clinical validation: a site that calibrates its
thresholds should re-check the flags on its own images.
"""

import json

import numpy as np

PRECISIONS = ("fp32", "int8", "fp16")
FLAG_THRESHOLD = 0.5  # the default decision threshold of a model version without its own set
MAX_PROBABILITY_DIFFERENCE = 0.05
MEAN_PROBABILITY_DIFFERENCE = 0.01
MAX_FLAGS_CHANGED_FRACTION = 0.01
MIN_CAM_CORRELATION = 0.95
MIN_IMAGES = 5


def agreement_report(*, precision: str, images: int, reference_probs: np.ndarray,
                     probs: np.ndarray, reference_cams: np.ndarray, cams: np.ndarray,
                     threshold: float = FLAG_THRESHOLD) -> dict:
    """How closely PROBS and CAMS (reduced precision) follow the fp32 ones, row by row; IMAGES:
    how many images the rows came from (a row is one crop)."""
    difference = np.abs(probs.astype(np.float64) - reference_probs.astype(np.float64))
    flags_changed = int(((probs >= threshold) != (reference_probs >= threshold)).sum())
    correlations = _cam_correlations(reference_cams, cams)
    return {
        "precision": precision,
        "images": images,
        "rows": int(len(probs)),
        "max_probability_difference": round(float(difference.max()), 6),
        "mean_probability_difference": round(float(difference.mean()), 6),
        "flag_threshold": threshold,
        "flags_changed": flags_changed,
        "flags_compared": int(probs.size),
        "min_cam_correlation": round(float(correlations.min()), 6),
        "mean_cam_correlation": round(float(correlations.mean()), 6),
    }


def _cam_correlations(reference: np.ndarray, cams: np.ndarray) -> np.ndarray:
    """Pearson correlation of each (row, finding) map; a flat map in both counts as 1."""
    a = reference.reshape(reference.shape[0] * reference.shape[1], -1).astype(np.float64)
    b = cams.reshape(a.shape).astype(np.float64)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = (a * b).sum(axis=1) / norms
    both_flat = (np.linalg.norm(a, axis=1) == 0) & (np.linalg.norm(b, axis=1) == 0)
    return np.where(both_flat, 1.0, np.nan_to_num(correlation, nan=0.0))


def agreement_problems(precision: str, report: dict | None) -> list[str]:
    """Why a model of PRECISION with this agreement REPORT may not be registered (empty: it may)."""
    if precision not in PRECISIONS:
        return [f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}"]
    if precision == "fp32":
        return []
    if not isinstance(report, dict):
        return [f"a {precision} model needs the agreement report that `python -m "
                "inference.model.export --precision` writes into it"]
    try:
        checks = [
            (report["precision"] == precision, f"the report is for {report['precision']}"),
            (report["images"] >= MIN_IMAGES,
             f"the report covers {report['images']} images, fewer than {MIN_IMAGES}"),
            (report["max_probability_difference"] <= MAX_PROBABILITY_DIFFERENCE,
             f"max |probability difference| {report['max_probability_difference']:.4f} > "
             f"{MAX_PROBABILITY_DIFFERENCE}"),
            (report["mean_probability_difference"] <= MEAN_PROBABILITY_DIFFERENCE,
             f"mean |probability difference| {report['mean_probability_difference']:.4f} > "
             f"{MEAN_PROBABILITY_DIFFERENCE}"),
            (report["flags_changed"] <= MAX_FLAGS_CHANGED_FRACTION * report["flags_compared"],
             f"{report['flags_changed']} of {report['flags_compared']} flags changed (> "
             f"{MAX_FLAGS_CHANGED_FRACTION:.0%})"),
            (report["min_cam_correlation"] >= MIN_CAM_CORRELATION,
             f"lowest CAM correlation {report['min_cam_correlation']:.3f} < "
             f"{MIN_CAM_CORRELATION}"),
        ]
    except (KeyError, TypeError):
        return ["the agreement report is incomplete"]
    return [message for ok, message in checks if not ok]


def metadata_precision(facts: dict) -> tuple[str, dict | None]:
    """(precision, agreement report) from a model's metadata properties (no precision: fp32)."""
    precision = str(facts.get("precision") or "fp32")
    try:
        report = json.loads(facts["agreement"]) if "agreement" in facts else None
    except (TypeError, ValueError):
        report = None
    return precision, report
