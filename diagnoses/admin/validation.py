"""The admin's validation pages (staff): the validation report of a model version on the site's
reviewed studies, suggesting thresholds from them as a draft, and an admin applying a draft.
Thin views: diagnoses/validation.py reads, diagnoses/threshold_suggestions.py writes."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from diagnoses import threshold_suggestions
from diagnoses.admin.validation_forms import ReviewedStudiesForm, SuggestForm
from diagnoses.models import ThresholdSuggestion
from diagnoses.monitoring import monitored_model_version
from diagnoses.validation import (
    ReviewedFilters,
    report_html,
    reviewed_labelled_scores,
    thresholds_of,
)
from inference.validation.report import validation_report


def validation_page(request):
    data = request.GET if "model_version" in request.GET else None
    form = ReviewedStudiesForm(data, initial={"model_version": monitored_model_version()})
    report = None
    if form.is_valid():
        version = form.cleaned_data["model_version"]
        filters = ReviewedFilters(model_version_id=version.pk,
                                  date_from=form.cleaned_data["date_from"],
                                  date_to=form.cleaned_data["date_to"])
        scores, studies = reviewed_labelled_scores(filters=filters)
        thresholds, threshold_source = thresholds_of(version)
        report = report_html(validation_report(
            scores, thresholds=thresholds, model_name=str(version),
            weights_verified=version.weights_verified, studies=studies,
            source=f"{studies} studies with a signed-off review, uploaded "
                   f"{_period(filters)}; labels: the reviewers' verdicts; "
                   f"thresholds: {threshold_source}"), standalone=False)
    chosen = form.cleaned_data if form.is_valid() else {"model_version": monitored_model_version()}
    suggest_form = SuggestForm(initial={**chosen, "method": "sensitivity"})
    return TemplateResponse(request, "admin/diagnoses/validation/page.html", {
        **admin.site.each_context(request),
        "title": "Validation on reviewed studies", "form": form, "report": report,
        "suggest_form": suggest_form,
        "suggestions": ThresholdSuggestion.objects.select_related("model_version")[:20],
    })


@require_POST
def suggest(request):
    form = SuggestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not suggested: " + "; ".join(
            f"{error}" for errors in form.errors.values() for error in errors))
        return redirect("validation")
    suggestion = threshold_suggestions.threshold_suggestion_create(
        model_version=form.cleaned_data["model_version"], method=form.cleaned_data["method"],
        target_sensitivity=form.cleaned_data["target_sensitivity"],
        date_from=form.cleaned_data["date_from"], date_to=form.cleaned_data["date_to"],
        user=request.user)
    messages.success(request, f"Suggestion #{suggestion.pk} saved as a draft.")
    return redirect("threshold-suggestion", suggestion.pk)


def suggestion_page(request, suggestion_id: int):
    suggestion = get_object_or_404(ThresholdSuggestion.objects.select_related(
        "model_version", "based_on", "threshold_set", "created_by", "applied_by"),
        pk=suggestion_id)
    return TemplateResponse(request, "admin/diagnoses/validation/suggestion.html", {
        **admin.site.each_context(request),
        "title": f"Suggested thresholds #{suggestion.pk}", "suggestion": suggestion,
        "can_apply": suggestion.is_draft and request.user.has_perm(
            threshold_suggestions.APPLY_PERMISSION),
    })


@require_POST
def suggestion_apply(request, suggestion_id: int):
    suggestion = get_object_or_404(ThresholdSuggestion, pk=suggestion_id)
    try:
        threshold_set = threshold_suggestions.threshold_suggestion_apply(
            suggestion=suggestion, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Applied: threshold set #{threshold_set.pk} of "
                                  f"{suggestion.model_version} flags new predictions from now on.")
    return redirect(reverse("threshold-suggestion", args=[suggestion.pk]))


def _period(filters: ReviewedFilters) -> str:
    if filters.date_from and filters.date_to:
        return f"from {filters.date_from} to {filters.date_to}"
    if filters.date_from:
        return f"from {filters.date_from}"
    return f"up to {filters.date_to}" if filters.date_to else "at any date"
