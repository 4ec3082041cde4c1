"""Studies as CSV: the columns, the latest prediction, and cells a spreadsheet would run."""

import csv
import io

import pytest

from diagnoses.exports import COLUMNS, studies_csv
from diagnoses.models import Study
from tests.factories import model_version_create, prediction_add, review_signed_off

pytestmark = pytest.mark.django_db


def rows(studies) -> list[dict[str, str]]:
    output = io.StringIO()
    studies_csv(studies, response_or_file=output)
    return list(csv.DictReader(io.StringIO(output.getvalue())))


def test_it_writes_one_row_per_study_with_its_top_and_flagged_findings(make_study):
    study = make_study(patient_id="P-7", accession_number="ACC-7",
                       probabilities={"Effusion": 0.91, "Mass": 0.62, "Hernia": 0.2})
    [row] = rows(Study.objects.all())
    assert list(row) == COLUMNS
    assert row["study id"] == str(study.pk)
    assert row["created"] == study.created_at.isoformat(timespec="seconds")
    assert (row["patient id"], row["accession"], row["status"]) == ("P-7", "ACC-7", "done")
    assert (row["top finding"], row["top finding probability"]) == ("Effusion", "0.9100")
    assert row["flagged findings"] == "Effusion; Mass"
    assert row["model version"].startswith("CheXNet stand-in (")
    assert row["reviewed"] == "no"
    assert "not medical predictions" in row["warning"]


def test_it_uses_the_latest_prediction_and_its_review(make_study, reviewer):
    study = make_study(probabilities={"Mass": 0.9})
    review_signed_off(prediction=study.predictions.get(), reviewer=reviewer)
    newer = model_version_create(identity="b" * 64, name="Second build", weights_verified=True)
    prediction_add(study=study, model_version=newer, probabilities={"Nodule": 0.8})
    [row] = rows(Study.objects.all())
    assert (row["top finding"], row["model version"]) == ("Nodule", str(newer))
    assert row["reviewed"] == "no" and row["warning"] == ""


def test_a_study_without_a_prediction_has_empty_reading_cells(make_study):
    make_study(status="queued", predicted=False)
    [row] = rows(Study.objects.all())
    assert row["status"] == "queued"
    assert row["top finding"] == row["flagged findings"] == row["model version"] == ""


def test_a_reviewed_study_says_so(make_study, reviewer):
    review_signed_off(prediction=make_study().predictions.get(), reviewer=reviewer)
    assert rows(Study.objects.all())[0]["reviewed"] == "yes"


def test_cells_a_spreadsheet_would_run_as_formulas_are_written_as_text(make_study):
    make_study(patient_id="=HYPERLINK(\"http://evil\")", accession_number="@SUM(A1)")
    [row] = rows(Study.objects.all())
    assert row["patient id"] == "'=HYPERLINK(\"http://evil\")"
    assert row["accession"] == "'@SUM(A1)"


def test_the_number_of_queries_does_not_grow_with_the_studies(make_study,
                                                              django_assert_max_num_queries):
    for _ in range(20):
        make_study()
    with django_assert_max_num_queries(5):
        assert len(rows(Study.objects.all())) == 20


def test_it_takes_a_list_of_studies_too(make_study):
    study = make_study()
    assert rows([study])[0]["study id"] == str(study.pk)
