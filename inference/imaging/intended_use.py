"""CheXNet's intended use, and why a study is outside it.

CheXNet was trained on frontal chest radiographs of adults (NIH ChestX-ray14). A study is within
its intended use when it is a radiograph (CR or DX), of the chest (or the body part is not
recorded), taken frontally (PA or AP), of a patient aged 18 or more (or whose age is unknown).

The facts come from the DICOM header; a PNG or JPEG has none, so its view and age are the ones
the uploader declared (or none), and the study says they were not checked from a header. This
module only states the rules; what a site does with a study outside them (refuse it, or read it
with a warning) is the app's policy (diagnoses/intended_use.py).
"""

import re
from dataclasses import dataclass
from datetime import date

from inference.imaging.dicom import ACCEPTED_MODALITIES, DicomStudy

FRONTAL_VIEWS = ("PA", "AP")
CHEST_BODY_PARTS = ("CHEST",)
ADULT_AGE_YEARS = 18
_AGE = re.compile(r"(\d{1,3})\s*([DWMY]?)")
_DAYS_PER_YEAR = 365.25
_YEARS_PER_UNIT = {"D": 1 / _DAYS_PER_YEAR, "W": 7 / _DAYS_PER_YEAR, "M": 1 / 12, "Y": 1.0,
                   "": 1.0}
_CODE_STRING = re.compile(r"[A-Z0-9_ ]{1,16}")


@dataclass(frozen=True)
class IntendedUseFacts:
    """What the rules look at. `from_header`: read from a DICOM header (else declared by the
    uploader, or not known)."""

    from_header: bool
    modality: str = ""
    body_part: str = ""
    view_position: str = ""
    age_years: float | None = None


def dicom_facts(dicom: DicomStudy) -> IntendedUseFacts:
    return IntendedUseFacts(
        from_header=True,
        modality=dicom.modality.strip().upper(),
        body_part=dicom.body_part_examined.strip().upper(),
        view_position=dicom.view_position.strip().upper(),
        age_years=patient_age_years(patient_age=dicom.patient_age,
                                    birth_date=dicom.patient_birth_date,
                                    study_date=dicom.study_date),
    )


def declared_facts(*, view_position: str = "", age_years: float | None = None
                   ) -> IntendedUseFacts:
    """A PNG or JPEG: the view and age its uploader gave, if any."""
    return IntendedUseFacts(from_header=False, view_position=view_position.strip().upper(),
                            age_years=age_years)


def outside_intended_use(facts: IntendedUseFacts) -> list[str]:
    """Why the study is outside the intended use, one short reason each; [] when within (or
    nothing could be checked)."""
    reasons = []
    if facts.from_header and facts.modality not in ACCEPTED_MODALITIES:
        reasons.append(f"{_shown(facts.modality, 'this modality')} is not a radiograph "
                       f"({' or '.join(ACCEPTED_MODALITIES)})")
    if facts.body_part and facts.body_part not in CHEST_BODY_PARTS:
        reasons.append(f"body part {_shown(facts.body_part, 'recorded')} is not the chest")
    if facts.view_position and facts.view_position not in FRONTAL_VIEWS:
        reasons.append(f"view {_shown(facts.view_position, 'recorded')} is not frontal "
                       f"({' or '.join(FRONTAL_VIEWS)})")
    elif facts.from_header and not facts.view_position:
        reasons.append("the header does not record a frontal view (no ViewPosition)")
    if facts.age_years is not None and facts.age_years < ADULT_AGE_YEARS:
        reasons.append(f"patient younger than {ADULT_AGE_YEARS}")
    return reasons


def patient_age_years(*, patient_age: str = "", birth_date: date | None = None,
                      study_date: date | None = None) -> float | None:
    """Age at the study in years: from PatientAge (012Y, 006M, 010D, 002W; bare digits read as
    years), else from the birth and study dates; None when neither tells."""
    match = _AGE.fullmatch(patient_age.strip().upper())
    if match:
        return int(match.group(1)) * _YEARS_PER_UNIT[match.group(2)]
    if birth_date and study_date and birth_date <= study_date:
        return (study_date - birth_date).days / _DAYS_PER_YEAR
    return None


def _shown(value: str, otherwise: str) -> str:
    """A header value as a reason quotes it: only a plain DICOM code string, never free text."""
    return value if _CODE_STRING.fullmatch(value) else otherwise
