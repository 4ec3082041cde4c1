"""Marking a study reviewed from the admin: the acting reviewer signs off the study's latest
prediction through reviews.review_save, keeping the note and verdicts of a draft they started."""

from django.core.exceptions import ValidationError

from diagnoses.models import Review, Study
from diagnoses.reviews import review_save


def study_mark_reviewed(*, study: Study, reviewer) -> Review:
    """The reviewer's signed-off review of the latest prediction. A review already signed off is
    returned as it is; a study without a prediction cannot be marked."""
    prediction = study.predictions.order_by("-created_at", "-pk").first()
    if prediction is None:
        raise ValidationError("The study has no prediction to review yet.", code="no_prediction")
    draft = Review.objects.filter(prediction=prediction, reviewer=reviewer).first()
    if draft is not None and draft.signed_off:
        return draft
    verdicts = {v.finding.name: v.verdict for v in draft.verdicts.select_related("finding")} \
        if draft else {}
    return review_save(prediction=prediction, reviewer=reviewer, verdicts=verdicts,
                       note=draft.note if draft else "", sign_off=True)
