"""The latest reading of a study is one rule everywhere: its prediction with the highest
created_at, and of two made at the same instant the one with the higher id."""

import csv
import io

import pytest

from diagnoses import exports, reviews, selectors
from diagnoses.admin import readings
from diagnoses.api.serializers import StudyDetailSerializer
from diagnoses.models import Prediction, Study
from diagnoses.selectors import StudyFilters
from tests.factories import model_version_create, prediction_add, study_stored

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(clinician):
    return study_stored(uploaded_by=clinician, patient_id="pat-0042")


def reading(study, *, identity: str, flagged: bool, created_at=None) -> Prediction:
    version = model_version_create(name=identity)
    prediction = prediction_add(study=study, model_version=version,
                                probabilities={"Effusion": 0.9 if flagged else 0.0})
    if created_at is not None:
        Prediction.objects.filter(pk=prediction.pk).update(created_at=created_at)
    return prediction


@pytest.fixture
def tied(study):
    """Two readings made at the same instant; the second (higher id) flags nothing."""
    first = reading(study, identity="v1", flagged=True)
    second = reading(study, identity="v2", flagged=False, created_at=first.created_at)
    return first, second


def test_the_result_page_and_the_api_take_the_higher_id(study, tied):
    _, second = tied
    loaded = selectors.study_get(study_id=study.pk)
    assert selectors.study_latest_prediction(study=loaded) == second
    assert selectors.study_predictions(study=loaded) == [second, tied[0]]
    answer = StudyDetailSerializer(loaded).data
    assert [p["id"] for p in answer["predictions"]] == [second.pk, tied[0].pk]
    assert answer["flagged"] == [] and answer["model_version"]["name"] == "v2"


def test_the_history_filter_agrees(study, tied):
    assert list(selectors.study_list(filters=StudyFilters(flagged_finding="Effusion"))) == []


def test_the_admin_list_and_mark_reviewed_agree(study, tied, reviewer):
    _, second = tied
    annotated = readings.studies_with_reading(Study.objects.all()).get()
    assert annotated.latest_prediction_id == second.pk and annotated.flagged_count == 0
    reviews.review_save(prediction=second, reviewer=reviewer, verdicts={"Mass": "agree"},
                        note="", sign_off=False)
    assert reviews.study_mark_reviewed(study=study, reviewer=reviewer).prediction == second


def test_the_export_agrees(study, tied):
    output = exports.studies_csv(Study.objects.all(), response_or_file=io.StringIO())
    row = list(csv.DictReader(io.StringIO(output.getvalue())))[0]
    assert (row["flagged findings"], row["model version"]) == ("", str(tied[1].model_version))
