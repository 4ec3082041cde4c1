"""Studies as CSV, one row each with its latest prediction: the web history's export and the
admin's "export the selection" both write this."""

import csv
from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet

from diagnoses import selectors
from diagnoses.intended_use import study_outside_intended_use
from diagnoses.models import Prediction, Study
from inference.findings import finding_label

COLUMNS = [
    "study id", "created", "patient id", "accession", "status", "top finding",
    "top finding probability", "flagged findings", "model version", "reviewed", "warning",
    "intended use",
]
# A cell a spreadsheet would run as a formula (CSV injection) is written as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def studies_csv(studies: Iterable[Study], *, response_or_file):
    """Write `studies` as CSV to an HttpResponse or a text file; returns it.

    A queryset is read with its predictions, findings and reviews prefetched (a fixed number of
    queries, whatever its length). "reviewed": the latest prediction has a signed-off review.
    "warning": set when the model version's weights are not the verified published ones.
    "intended use": "outside intended use: <reasons>", empty when within
    (diagnoses/intended_use.py)."""
    writer = csv.writer(response_or_file)
    writer.writerow(COLUMNS)
    for study in _with_readings(studies):
        writer.writerow(_row(study))
    return response_or_file


def _with_readings(studies: Iterable[Study]) -> Iterable[Study]:
    if not isinstance(studies, QuerySet):
        return studies
    predictions = Prediction.objects.select_related("model_version").prefetch_related(
        "findings", "reviews"
    )
    return studies.prefetch_related(None).prefetch_related(
        Prefetch("predictions", queryset=predictions)
    ).iterator(chunk_size=500)


def _row(study: Study) -> list[str]:
    prediction = selectors.study_latest_prediction(study=study)
    findings = sorted(prediction.findings.all(), key=lambda f: -f.probability) if prediction else []
    top = findings[0] if findings else None
    model_version = prediction.model_version if prediction else None
    reviewed = prediction is not None and any(r.signed_off for r in prediction.reviews.all())
    return [
        str(study.pk),
        study.created_at.isoformat(timespec="seconds"),
        _text(study.patient_id),
        _text(study.accession_number),
        study.status,
        finding_label(top.name) if top else "",
        f"{top.probability:.4f}" if top else "",
        "; ".join(finding_label(f.name) for f in findings if f.flagged),
        _text(str(model_version)) if model_version else "",
        "yes" if reviewed else "no",
        model_version.warning if model_version else "",
        _text(study_outside_intended_use(study)),
    ]


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value
