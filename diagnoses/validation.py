"""Validation on the site's own data: the labels that signed-off reviews give, the thresholds a
report measures, and writing a report to files (`manage.py evaluate`).

A signed-off verdict labels one finding of one study: "agree" with a flagged finding or
"disagree" with one not flagged is a positive; the other two are negatives. When a study has
several such verdicts on a finding, the latest signed-off review's counts."""

import datetime
import json
from dataclasses import dataclass
from pathlib import Path

from django.template.loader import render_to_string

from diagnoses.models import DEFAULT_THRESHOLD, FindingVerdict, ModelVersion
from inference.findings import FINDINGS
from inference.identity import ModelIdentity
from inference.validation.charts import data_uri
from inference.validation.report import LabelledScores


@dataclass(frozen=True)
class ReviewedFilters:
    model_version_id: int
    date_from: datetime.date | None = None  # the study's upload date
    date_to: datetime.date | None = None


def verdict_label(*, verdict: str, flagged: bool) -> int:
    """1 when the reviewer says the finding is there, 0 when not."""
    agrees = verdict == FindingVerdict.Verdict.AGREE
    return int(agrees == flagged)


def reviewed_labelled_scores(*, filters: ReviewedFilters) -> tuple[LabelledScores, int]:
    """The scores and reviewer labels of the model version's reviewed studies, and how many
    studies; one row per study and finding."""
    verdicts = FindingVerdict.objects.filter(
        review__signed_off_at__isnull=False,
        finding__prediction__model_version_id=filters.model_version_id,
    )
    uploaded = "finding__prediction__study__created_at__date"
    if filters.date_from:
        verdicts = verdicts.filter(**{f"{uploaded}__gte": filters.date_from})
    if filters.date_to:
        verdicts = verdicts.filter(**{f"{uploaded}__lte": filters.date_to})
    rows = verdicts.order_by("review__signed_off_at", "pk").values_list(
        "finding__prediction__study_id", "finding__name", "finding__probability",
        "finding__flagged", "verdict")
    latest: dict[tuple, tuple[int, float]] = {}
    for study_id, name, probability, flagged, verdict in rows.iterator(chunk_size=5000):
        latest[(study_id, name)] = (verdict_label(verdict=verdict, flagged=flagged), probability)
    data = LabelledScores()
    for (_, name), (label, probability) in latest.items():
        data.add(name, label, probability)
    return data, len({study_id for study_id, _ in latest})


def thresholds_of(model: ModelIdentity | ModelVersion) -> tuple[dict[str, float], str]:
    """The thresholds a report measures at: the model version's current set, else the default
    for every finding; and what they are, in words."""
    version = model if isinstance(model, ModelVersion) else \
        ModelVersion.objects.filter(identity=model.identity).first()
    threshold_set = version.current_threshold_set() if version else None
    if threshold_set is None:
        return ({name: DEFAULT_THRESHOLD for name in FINDINGS},
                f"{DEFAULT_THRESHOLD} for every finding (no threshold set recorded)")
    return dict(threshold_set.thresholds), f"threshold set #{threshold_set.pk}"


def report_html(report: dict, *, standalone: bool) -> str:
    chart_uris = {name: data_uri(svg) for name, svg in report.get("charts", {}).items()}
    template = "diagnoses/validation/report.html" if standalone else \
        "diagnoses/validation/_report.html"
    return render_to_string(template, {"report": report, "chart_uris": chart_uris})


def report_write(report: dict, folder: Path) -> list[Path]:
    """report.html (charts inside), report.json (no charts), roc.svg and calibration.svg."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "report.html", folder / "report.json"]
    written[0].write_text(report_html(report, standalone=True), encoding="utf-8")
    data = {key: value for key, value in report.items() if key != "charts"}
    written[1].write_text(json.dumps(data, indent=2), encoding="utf-8")
    for name, svg in report.get("charts", {}).items():
        path = folder / f"{name}.svg"
        path.write_text(svg, encoding="utf-8")
        written.append(path)
    return written
