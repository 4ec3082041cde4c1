"""A validation report: the metrics of every finding, the mean AUROC beside the published
figures, and the charts. `manage.py evaluate` (labelled images) and the admin validation page
(reviewed studies) build it the same way, from per-finding labels and scores."""

from dataclasses import dataclass, field

from inference.findings import FINDINGS
from inference.validation import charts
from inference.validation.metrics import FindingMetrics, finding_metrics, mean_auroc
from inference.validation.published import PUBLISHED_MEAN_AUROC

STANDIN_NOTE = (
    "Not the verified published CheXNet weights: with the stand-in these figures are those of "
    "random weights. They say nothing about the published model and are no basis for clinical "
    "use."
)


@dataclass
class LabelledScores:
    """Per finding, the 0/1 labels and the model's scores of the studies that have a label."""

    labels: dict[str, list[int]] = field(default_factory=lambda: {n: [] for n in FINDINGS})
    scores: dict[str, list[float]] = field(default_factory=lambda: {n: [] for n in FINDINGS})

    def add(self, finding: str, label: int, score: float) -> None:
        self.labels[finding].append(int(label))
        self.scores[finding].append(float(score))


def validation_report(data: LabelledScores, *, thresholds: dict[str, float],
                      model_name: str, weights_verified: bool, source: str,
                      studies: int, with_charts: bool = True) -> dict:
    """The report as JSON-ready data; `charts` holds the SVG text of the ROC and calibration
    charts (left out of the JSON file, written beside it)."""
    metrics = [finding_metrics(name, data.labels[name], data.scores[name],
                               threshold=thresholds.get(name)) for name in FINDINGS]
    mean = mean_auroc(metrics)
    report = {
        "source": source,
        "model": model_name,
        "weights_verified": weights_verified,
        "note": "" if weights_verified else STANDIN_NOTE,
        "studies": studies,
        "findings": [m.as_dict() for m in metrics],
        "mean_auroc": mean,
        "mean_auroc_findings": sum(1 for m in metrics if m.auroc is not None),
        "published": [{"source": name, "mean_auroc": value}
                      for name, value in PUBLISHED_MEAN_AUROC],
    }
    if with_charts:
        report["charts"] = report_charts(metrics)
    return report


def report_charts(metrics: list[FindingMetrics]) -> dict[str, str]:
    with_auroc = [m for m in metrics if m.auroc is not None]
    return {
        "roc": charts.roc_chart({m.finding: m.roc for m in with_auroc}),
        "calibration": charts.calibration_chart({m.finding: m.calibration for m in with_auroc}),
    }
