"""The admin's monitoring page (staff): studies per week, flag rate per finding per week, score
drift against a baseline period (PSI and its level), reviewer agreement per finding and the input
mix, as charts. diagnoses/monitoring.py counts; inference/validation/charts.py draws."""

import datetime

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone

from diagnoses import monitoring
from diagnoses.models import ModelVersion
from inference.findings import FINDINGS
from inference.validation import charts
from inference.validation.drift import SCORE_BIN_EDGES


class MonitoringForm(forms.Form):
    model_version = forms.ModelChoiceField(queryset=ModelVersion.objects.all(), required=False,
                                           help_text="Empty: the active model version.")
    finding = forms.ChoiceField(choices=[("", "the most drifted")] + [(n, n) for n in FINDINGS],
                                required=False, label="Score distribution of")


def monitoring_page(request):
    form = MonitoringForm(request.GET or None)
    chosen = form.cleaned_data if form.is_valid() else {}
    version = chosen.get("model_version") or monitoring.monitored_model_version()
    now = timezone.now()
    since = now - datetime.timedelta(weeks=monitoring.WEEKS)
    periods = monitoring.default_periods(now)
    context = {**admin.site.each_context(request), "title": "Monitoring", "form": form, "version": version, "periods": periods,
               "weeks": monitoring.WEEKS}
    studies = monitoring.studies_per_week(since=since)
    context["studies_chart"] = charts.data_uri(charts.bar_chart(
        "Studies per week", [_label(w) for w, _ in studies], {"studies": [n for _, n in studies]},
        "studies"))
    mix = monitoring.input_mix_per_week(since=since)
    context["mix_charts"] = [charts.data_uri(_mix_chart(field, weeks))
                             for field, weeks in mix.items()]
    if version is not None:
        rates = monitoring.flag_rate_per_week(model_version_id=version.pk, since=since)
        context["flag_chart"] = charts.data_uri(charts.line_chart(
            "Flag rate per finding per week", [_label(w) for w in rates],
            {n: [rates[w].get(n) for w in rates] for n in FINDINGS}, "share flagged"))
        drift = monitoring.score_drift(model_version_id=version.pk, periods=periods)
        context["drift"] = [{"finding": n, **d} for n, d in drift.items()]
        shown = chosen.get("finding") or max(
            FINDINGS, key=lambda n: drift[n]["psi"] if drift[n]["psi"] is not None else -1)
        context["drift_finding"] = shown
        context["drift_chart"] = charts.data_uri(charts.histogram_chart(
            f"{shown}: scores, last {monitoring.CURRENT_DAYS} days against the "
            f"{monitoring.BASELINE_DAYS} days before", _bin_labels(),
            _fractions(drift[shown]["baseline"]), _fractions(drift[shown]["current"])))
        agreement = monitoring.reviewer_agreement(model_version_id=version.pk, since=since)
        context["agreement"] = [{"finding": n, "share": a, "verdicts": t}
                                for n, (a, t) in agreement.items()]
        context["agreement_chart"] = charts.data_uri(charts.bar_chart(
            f"Reviewer agreement with the model, last {monitoring.WEEKS} weeks",
            list(FINDINGS), {"agree": [a if a is not None else 0 for a, _ in agreement.values()]},
            "share of verdicts that agree"))
    return TemplateResponse(request, "admin/diagnoses/validation/monitoring.html", context)


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
