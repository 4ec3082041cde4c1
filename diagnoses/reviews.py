"""Writes: a reviewer's reading of a prediction (verdict per finding, note, sign-off).

Used by the web page and the API alike. One review per reviewer and prediction; saving again
replaces its verdicts and note until it is signed off, after which it is final."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from diagnoses.models import FindingVerdict, Prediction, Review

VERDICTS = set(FindingVerdict.Verdict.values)


def review_save(
    *, prediction: Prediction, reviewer, verdicts: dict[str, str], note: str, sign_off: bool
) -> Review:
    """Create or update `reviewer`'s review of `prediction`.

    `verdicts` maps finding names to "agree" or "disagree"; findings left out have no verdict.
    A signed-off review cannot be changed: that raises ValidationError (code "signed_off")."""
    findings = {finding.name: finding for finding in prediction.findings.all()}
    _check_verdicts(verdicts, findings)
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
