"""Writes: a reviewer's reading of a prediction (verdict per finding, note, sign-off).

Used by the web page and the API alike, and by the admin's "mark reviewed". One review per
reviewer and prediction; saving again replaces its verdicts and note until it is signed off, after
which it is final."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from diagnoses import selectors
from diagnoses.models import FindingVerdict, Prediction, Review, Study

VERDICTS = set(FindingVerdict.Verdict.values)


def review_save(
    *, prediction: Prediction, reviewer, verdicts: dict[str, str], note: str, sign_off: bool
) -> Review:
    """Create or update `reviewer`'s review of `prediction`.

    `verdicts` maps finding names to "agree" or "disagree"; findings left out have no verdict.
    A signed-off review cannot be changed: that raises ValidationError (code "signed_off").
    An empty review (no verdict, no note) is not saved (code "empty"), and a sign-off carries at
    least one verdict (code "no_verdicts")."""
    findings = {finding.name: finding for finding in prediction.findings.all()}
    _check_verdicts(verdicts, findings)
    review_content_check(verdicts=verdicts, note=note, sign_off=sign_off)
    with transaction.atomic():
        review, _ = Review.objects.select_for_update().get_or_create(
            prediction=prediction, reviewer=reviewer
        )
        if review.signed_off:
            raise ValidationError(
                f"This review was signed off on {review.signed_off_at:%Y-%m-%d %H:%M} UTC "
                "and can no longer be changed.",
                code="signed_off",
            )
        review.note = note
        if sign_off:
            review.signed_off_at = timezone.now()
        review.save()
        review.verdicts.exclude(finding__name__in=verdicts).delete()
        for name, verdict in verdicts.items():
            FindingVerdict.objects.update_or_create(
                review=review, finding=findings[name], defaults={"verdict": verdict}
            )
    return review


def study_mark_reviewed(*, study: Study, reviewer) -> Review:
    """The reviewer signs off the study's latest reading with the note and verdicts of the draft
    they started. A review already signed off is returned as it is; a study without a prediction
    cannot be marked (ValidationError, code "no_prediction"), nor one without a draft holding
    verdicts (code "no_verdicts")."""
    prediction = selectors.study_latest_prediction(study=study)
    if prediction is None:
        raise ValidationError("The study has no prediction to review yet.", code="no_prediction")
    draft = Review.objects.filter(prediction=prediction, reviewer=reviewer).first()
    if draft is not None and draft.signed_off:
        return draft
    verdicts = {v.finding.name: v.verdict for v in draft.verdicts.select_related("finding")} \
        if draft else {}
    return review_save(prediction=prediction, reviewer=reviewer, verdicts=verdicts,
                       note=draft.note if draft else "", sign_off=True)


def review_content_check(*, verdicts: dict[str, str], note: str, sign_off: bool) -> None:
    """The one rule of what a review must hold: something, and verdicts to be signed off."""
    if sign_off and not verdicts:
        raise ValidationError("A sign-off needs verdicts: agree or disagree on at least one "
                              "finding first.", code="no_verdicts")
    if not verdicts and not note.strip():
        raise ValidationError("An empty review is not saved: give a verdict on at least one "
                              "finding, or a note.", code="empty")


def _check_verdicts(verdicts: dict[str, str], findings: dict) -> None:
    unknown = sorted(set(verdicts) - set(findings))
    if unknown:
        raise ValidationError(
            f"This prediction has no finding named {', '.join(unknown)}.", code="unknown_finding"
        )
    wrong = sorted(name for name, verdict in verdicts.items() if verdict not in VERDICTS)
    if wrong:
        raise ValidationError(
            f"A verdict is either agree or disagree; not so for {', '.join(wrong)}.",
            code="invalid_verdict",
        )
