"""A study side by side with the same patient's previous one: images linked for zoom and pan,
and each finding's change."""

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from diagnoses import selectors
from diagnoses.audit import audit_record
from diagnoses.presenters import finding_changes, study_summary
from diagnoses.web.access import requires


@requires("view_study")
@require_GET
def study_comparison(request, study_id):
    study = selectors.study_get(study_id=study_id)
    prior = selectors.study_previous(study=study)
    current = selectors.study_latest_prediction(study=study)
    if prior is None or current is None:
        raise Http404("This study has no reading or no earlier study of the same patient")
    prior = selectors.study_get(study_id=prior.pk)
    audit_record(user=request.user, action="view", study=study, detail="comparison")
    audit_record(user=request.user, action="view", study=prior, detail="comparison")
    return render(request, "diagnoses/comparison.html", {
        "study": study,
        "summary": study_summary(study),
        "prior": prior,
        "prior_url": reverse("study-detail", args=[prior.pk]),
        "changes": finding_changes(current, selectors.study_latest_prediction(study=prior)),
    })


def comparison_url(study) -> str:
    """The comparison page of STUDY, or "" when it has nothing to be compared with."""
    if (selectors.study_latest_prediction(study=study) is None
            or selectors.study_previous(study=study) is None):
        return ""
    return reverse("study-comparison", args=[study.pk])
