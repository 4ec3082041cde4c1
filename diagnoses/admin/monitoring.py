"""The admin's monitoring page (staff): studies per week, flag rate per finding per week, score
drift against a baseline period (PSI and its level), reviewer agreement per finding and the input
mix, as charts. diagnoses/monitoring.py counts; inference/validation/charts.py draws."""

import datetime

from django import forms
from django.contrib import admin
from django.core.cache import cache
from django.template.response import TemplateResponse

from diagnoses import monitoring
from diagnoses.models import ModelVersion
from inference.findings import FINDINGS
from inference.validation import charts
from inference.validation.drift import SCORE_BIN_EDGES

# A complete week's figures do not change; the hour bounds what a deleted or corrected study
# leaves on the page. Each web process keeps its own (Django's local-memory cache).
CHARTS_KEPT_S = 3600


class MonitoringForm(forms.Form):
    model_version = forms.ModelChoiceField(queryset=ModelVersion.objects.all(), required=False,
                                           help_text="Empty: the active model version.")
    finding = forms.ChoiceField(choices=[("", "the most drifted")] + [(n, n) for n in FINDINGS],
                                required=False, label="Score distribution of")


def monitoring_page(request):
    form = MonitoringForm(request.GET or None)
    chosen = form.cleaned_data if form.is_valid() else {}
    version = chosen.get("model_version") or monitoring.monitored_model_version()
    window = monitoring.monitoring_window()
    key = (f"chexweb:monitoring:{version.pk if version else 0}:{chosen.get('finding') or ''}:"
           f"{window.until.isoformat()}")
    figures = cache.get(key)
    if figures is None:
        figures = _figures(version, chosen.get("finding") or "", window)
        cache.set(key, figures, CHARTS_KEPT_S)
    return TemplateResponse(request, "admin/diagnoses/validation/monitoring.html", {
        **admin.site.each_context(request), "title": "Monitoring", "form": form,
        "version": version, "window": window, "weeks": monitoring.WEEKS,
        "agreement_weeks": monitoring.AGREEMENT_WEEKS, **figures})


def _figures(version, finding: str, window: monitoring.Window) -> dict:
    """The page's charts and tables: complete weeks only, so the same until the week is over."""
    since, until = window.since, window.until
    studies = monitoring.studies_per_week(since=since, until=until)
    figures = {"studies_chart": charts.data_uri(charts.bar_chart(
        "Studies per week", [_label(w) for w, _ in studies], {"studies": [n for _, n in studies]},
        "studies"))}
    mix = monitoring.input_mix_per_week(since=since, until=until)
    figures["mix_charts"] = [charts.data_uri(_mix_chart(field, weeks))
                             for field, weeks in mix.items()]
    if version is None:
        return figures
    rates = monitoring.flag_rate_per_week(model_version_id=version.pk, since=since, until=until)
    figures["flag_chart"] = charts.data_uri(charts.line_chart(
        "Flag rate per finding per week", [_label(w) for w in rates],
        {n: [rates[w].get(n) for w in rates] for n in FINDINGS}, "share flagged"))
    drift = monitoring.score_drift(model_version_id=version.pk, periods=window.periods)
    figures["drift"] = [{"finding": n, **d} for n, d in drift.items()]
    shown = finding or max(
        FINDINGS, key=lambda n: drift[n]["psi"] if drift[n]["psi"] is not None else -1)
    figures["drift_finding"] = shown
    figures["drift_chart"] = charts.data_uri(charts.histogram_chart(
        f"{shown}: scores of the last complete week against the four before", _bin_labels(),
        _fractions(drift[shown]["baseline"]), _fractions(drift[shown]["current"])))
    agreement = monitoring.reviewer_agreement(model_version_id=version.pk,
                                              since=window.agreement_since, until=until)
    figures["agreement"] = [{"finding": n, "share": a, "verdicts": t}
                            for n, (a, t) in agreement.items()]
    figures["agreement_chart"] = charts.data_uri(charts.bar_chart(
        f"Reviewer agreement with the model, last {monitoring.AGREEMENT_WEEKS} complete weeks",
        list(FINDINGS), {"agree": [a if a is not None else 0 for a, _ in agreement.values()]},
        "share of verdicts that agree"))
    return figures


def _mix_chart(field: str, weeks: dict) -> str:
    values = sorted({value for counts in weeks.values() for value in counts})
    return charts.bar_chart(f"Input mix: {field.replace('_', ' ')}", [_label(w) for w in weeks],
                            {v: [weeks[w].get(v, 0) for w in weeks] for v in values}, "studies")


def _label(week: datetime.date) -> str:
    return week.strftime("%Y-%m-%d")


def _bin_labels() -> list[str]:
    edges = SCORE_BIN_EDGES
    return [f"{edges[i]:g}-{min(edges[i + 1], 1.0):g}" for i in range(len(edges) - 1)]


def _fractions(counts: list[int]) -> list[float]:
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]
