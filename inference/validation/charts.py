"""The validation and monitoring charts as SVG text, drawn by matplotlib on its Agg backend (no
display, no pyplot state shared between requests: each chart is its own Figure). The only text in
a chart is finding names, dates, counts and the captions given here: no patient data."""

import base64
import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402  (after choosing the backend)

matplotlib.rcParams["svg.hashsalt"] = "chexweb"  # the same chart gives the same SVG text
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: small files
WIDTH, HEIGHT = 7.5, 4.8


def roc_chart(curves: dict[str, list[tuple[float, float, float]]]) -> str:
    """One ROC curve per finding (false positive rate, true positive rate)."""
    figure, axes = _figure()
    for finding, points in curves.items():
        axes.plot([p[0] for p in points], [p[1] for p in points], label=finding, linewidth=1.2)
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    axes.set(xlabel="False positive rate (1 - specificity)", ylabel="Sensitivity",
             xlim=(0, 1), ylim=(0, 1.01), title="ROC curves")
    return _svg(figure, axes, legend=bool(curves))


def calibration_chart(curves: dict[str, list[tuple[float, float, int]]]) -> str:
    """Reliability curves: mean predicted probability against the fraction positive."""
    figure, axes = _figure()
    for finding, points in curves.items():
        axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3,
                  label=finding, linewidth=1.2)
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    axes.set(xlabel="Mean predicted probability", ylabel="Fraction positive", xlim=(0, 1),
             ylim=(0, 1.01), title="Calibration (reliability)")
    return _svg(figure, axes, legend=bool(curves))


def line_chart(title: str, x_labels: list[str], series: dict[str, list[float | None]],
               ylabel: str) -> str:
    """Values over periods (weeks), one line per series; None leaves a gap."""
    figure, axes = _figure()
    positions = list(range(len(x_labels)))
    for name, values in series.items():
        axes.plot(positions, [float("nan") if v is None else v for v in values], marker="o",
                  markersize=3, label=name, linewidth=1.2)
    _period_axis(axes, x_labels)
    axes.set(title=title, ylabel=ylabel)
    return _svg(figure, axes, legend=len(series) > 1)


def bar_chart(title: str, x_labels: list[str], series: dict[str, list[float]], ylabel: str,
              stacked: bool = True) -> str:
    """Counts per period, stacked by series."""
    figure, axes = _figure()
    positions = list(range(len(x_labels)))
    bottom = [0.0] * len(x_labels)
    for name, values in series.items():
        axes.bar(positions, values, bottom=bottom if stacked else None, label=name)
        if stacked:
            bottom = [b + v for b, v in zip(bottom, values)]
    _period_axis(axes, x_labels)
    axes.set(title=title, ylabel=ylabel)
    return _svg(figure, axes, legend=len(series) > 1)


def histogram_chart(title: str, bin_labels: list[str], baseline: list[float],
                    current: list[float]) -> str:
    """Two score distributions over the same bins, as fractions."""
    figure, axes = _figure()
    positions = list(range(len(bin_labels)))
    axes.bar([p - 0.2 for p in positions], baseline, width=0.4, label="baseline")
    axes.bar([p + 0.2 for p in positions], current, width=0.4, label="current")
    axes.set_xticks(positions, bin_labels, rotation=45, ha="right", fontsize=7)
    axes.set(title=title, ylabel="Fraction of studies")
    return _svg(figure, axes, legend=True)


def data_uri(svg: str) -> str:
    """For an <img src>: an SVG shown as an image runs no script and loads nothing."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def _figure():
    figure = Figure(figsize=(WIDTH, HEIGHT))
    axes = figure.add_subplot()
    axes.grid(True, linewidth=0.3)
    return figure, axes


def _period_axis(axes, x_labels: list[str]) -> None:
    step = max(1, len(x_labels) // 12)
    axes.set_xticks(list(range(0, len(x_labels), step)), x_labels[::step], rotation=45,
                    ha="right", fontsize=7)


def _svg(figure, axes, *, legend: bool) -> str:
    if legend:
        axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()
