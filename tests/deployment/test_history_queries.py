"""The history's filters at scale: flagged and reviewed look at the latest reading only, asked
from the findings' and reviews' side; on PostgreSQL the search has its indexes."""

import pytest
from django.db import connection
from django.utils import timezone

from diagnoses import selectors
from diagnoses.models import Prediction, Study
from diagnoses.selectors import StudyFilters
from tests.factories import model_version_create, prediction_add, review_signed_off, study_stored

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(clinician):
    return study_stored(uploaded_by=clinician, patient_id="pat-0042", accession_number="ACC-77")


def reading(study, *, identity: str, flagged: bool, created_at=None) -> Prediction:
    """A reading by a model version of its own, Effusion flagged or not (at 0.5)."""
    prediction = prediction_add(study=study,
                                model_version=model_version_create(identity=identity,
                                                                   name=identity),
                                probabilities={"Effusion": 0.9 * flagged})
    if created_at is not None:
        Prediction.objects.filter(pk=prediction.pk).update(created_at=created_at)
    return prediction


def listed(**filters) -> list[Study]:
    return list(selectors.study_list(filters=StudyFilters(**filters)))


def test_flagged_means_flagged_in_the_latest_reading(study):
    first = reading(study, identity="v1", flagged=True)
    assert listed(flagged_finding="Effusion") == [study]
    reading(study, identity="v2", flagged=False, created_at=first.created_at)  # same time:
    assert listed(flagged_finding="Effusion") == []  # the higher id is the latest


def test_an_older_flagged_reading_does_not_count(study):
    reading(study, identity="v2", flagged=False)
    reading(study, identity="v1", flagged=True,
            created_at=timezone.now() - timezone.timedelta(days=1))
    assert listed(flagged_finding="Effusion") == []


def test_reviewed_means_the_latest_reading_is_signed_off(study, reviewer):
    first = reading(study, identity="v1", flagged=True)
    review_signed_off(prediction=first, reviewer=reviewer)
    assert listed(reviewed=True) == [study] and listed(reviewed=False) == []
    reading(study, identity="v2", flagged=True)
    assert listed(reviewed=True) == [] and listed(reviewed=False) == [study]


def test_search_is_a_case_blind_prefix_of_patient_or_accession(study):
    assert listed(search="PAT-00") == [study]
    assert listed(search="acc-7") == [study]
    assert listed(search="at-0042") == []


def test_on_postgresql_the_search_has_its_indexes(study):
    """The prefix indexes exist (which plan uses them depends on the table's size: bench/pages.py
    measures that with 100,000 studies)."""
    if connection.vendor != "postgresql":
        pytest.skip("the search's indexes are PostgreSQL's (varchar_pattern_ops)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'diagnoses_study'")
        indexes = dict(cursor.fetchall())
    assert "varchar_pattern_ops" in indexes["diagnoses_study_patient_id_upper_like"]
    assert "varchar_pattern_ops" in indexes["diagnoses_study_accession_upper_like"]
