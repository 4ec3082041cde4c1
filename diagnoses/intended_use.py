"""The site's intended-use policy, applied to every study at intake, and the one wording of its
mark that every channel (page, PDF, CSV, API, callback, DICOM SR) shows.

The rules are inference/imaging/intended_use.py's. CHEXWEB_INTENDED_USE (settings) says what a
study outside them gets:
- `warn` (the default): the model reads it, and its result is marked
  "outside intended use: <reasons>" wherever it is shown, exported or sent;
- `refuse`: the study ends as "not eligible" with the reasons, and the model does not read it.

Every intake reaches it through services.study_create (web form, API, DICOM listener); another
intake that stores studies itself calls `intended_use_assess` and `intended_use_refuses`.
"""

from dataclasses import dataclass

from django.conf import settings

from diagnoses.models import Study
from inference.imaging.intended_use import (
    IntendedUseFacts,
    declared_facts,
    dicom_facts,
    outside_intended_use,
)
from inference.imaging.study_image import StudyImage, StudyUpload

REFUSE, WARN = "refuse", "warn"
POLICIES = (REFUSE, WARN)
# What an uploader may declare for a PNG or JPEG (the form's and the API's choices).
DECLARED_VIEWS = [("", "Not given"), ("PA", "PA (frontal)"), ("AP", "AP (frontal)"),
                  ("LL", "Left lateral"), ("RL", "Right lateral")]
MAX_DECLARED_AGE_YEARS = 130
NOT_FROM_HEADER = ("View and age were not checked from a DICOM header (a {format} has none): "
                   "{view}, {age}.")


@dataclass(frozen=True)
class IntendedUseAssessment:
    facts: IntendedUseFacts
    reasons: list[str]

    @property
    def checked_from(self) -> str:
        return (Study.IntendedUseSource.HEADER if self.facts.from_header
                else Study.IntendedUseSource.UPLOADER)


def intended_use_assess(*, study_image: StudyImage | StudyUpload, view_position: str = "",
                        age_years: float | None = None) -> IntendedUseAssessment:
    """The rules applied to an upload: its DICOM header, else the view and age declared with it
    (ignored for a DICOM file, whose header says)."""
    if study_image.dicom is not None:
        facts = dicom_facts(study_image.dicom)
    else:
        facts = declared_facts(view_position=view_position, age_years=age_years)
    return IntendedUseAssessment(facts=facts, reasons=outside_intended_use(facts))


def intended_use_refuses(assessment: IntendedUseAssessment) -> bool:
    """Whether this site ends such a study as not eligible instead of reading it."""
    return reasons_refused(assessment.reasons)


def reasons_refused(reasons: list[str]) -> bool:
    """Whether this site's policy refuses a study outside the intended use for `reasons`."""
    return bool(reasons) and settings.CHEXWEB_INTENDED_USE == REFUSE


def study_outside_intended_use(study: Study) -> str:
    """The mark of a study outside the intended use, "outside intended use: <reasons>"; "" for a
    study within it. The one wording: pages, PDF, CSV, API, callbacks and the DICOM SR use it."""
    if not study.intended_use_reasons:
        return ""
    return "outside intended use: " + "; ".join(study.intended_use_reasons)


def study_not_eligible_reason(reasons: list[str]) -> str:
    return "Not eligible: " + "; ".join(reasons) + (
        ". This site refuses studies outside the model's intended use (adult frontal chest "
        "radiographs); the model did not read it.")


def study_intended_use_note(study: Study) -> str:
    """For a PNG or JPEG: that its view and age were not checked from a header, and what was
    declared; "" for a DICOM study (or one uploaded before the check)."""
    if study.intended_use_checked_from != Study.IntendedUseSource.UPLOADER:
        return ""
    view = f"view {study.view_position} as declared" if study.view_position else "view not given"
    age = (f"age {int(study.patient_age_years)} as declared"
           if study.patient_age_years is not None else "age not given")
    return NOT_FROM_HEADER.format(format=study.image_format, view=view, age=age)
