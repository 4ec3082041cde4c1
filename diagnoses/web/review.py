"""A reviewer's verdicts on a prediction's findings, a note and a sign-off."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from diagnoses import reviews
from diagnoses.audit import audit_record
from diagnoses.forms import ReviewForm
from diagnoses.models import Prediction
from diagnoses.web.access import requires


@requires("review_study")
@require_POST
def prediction_review(request, study_id, prediction_id):
    prediction = get_object_or_404(Prediction, pk=prediction_id, study_id=study_id)
    form = ReviewForm(request.POST, prediction=prediction, reviewer=request.user)
    if not form.is_valid():
        messages.error(request, "The review was not saved: " + "; ".join(
            " ".join(errors) for errors in form.errors.values()))
        return redirect("study-detail", study_id=study_id)
    try:
        reviews.review_save(
            prediction=prediction,
            reviewer=request.user,
            verdicts=form.verdicts(),
            note=form.cleaned_data["note"],
            sign_off=form.cleaned_data["sign_off"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        audit_record(user=request.user, action="review", study=prediction.study)
        messages.success(request, "Review saved" + (
            " and signed off." if form.cleaned_data["sign_off"] else "."))
    return redirect("study-detail", study_id=study_id)
