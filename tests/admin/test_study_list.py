"""The study list: readings in columns, filters, search, and a fixed number of queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from diagnoses.models import Study
from tests.factories import model_version_create, prediction_add, review_signed_off

pytestmark = pytest.mark.django_db

LIST = reverse("admin:diagnoses_study_changelist")


def listed(client, **query) -> list[Study]:
    response = client.get(LIST, query)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_each_row_shows_the_latest_reading(as_reviewer, make_study, reviewer):
    study = make_study(patient_id="P-7", probabilities={"Effusion": 0.91, "Mass": 0.62})
    review_signed_off(prediction=study.predictions.get(), reviewer=reviewer)
    [row] = listed(as_reviewer)
    assert (row.top_finding, row.top_probability, row.flagged_count, row.reviewed) == (
        "Effusion", 0.91, 2, True)
    assert row.reading_model_version.startswith("CheXNet stand-in (aaaaaaaaaaaa")
    page = as_reviewer.get(LIST).content.decode()
    assert reverse("admin:diagnoses_study_thumbnail", args=[study.pk]) in page
    assert "P-7" in page and "Effusion" in page and "0.910" in page


def test_a_study_without_a_prediction_is_listed_with_empty_readings(as_reviewer, make_study):
    make_study(status="queued", predicted=False)
    [row] = listed(as_reviewer)
    assert row.top_finding is None and row.flagged_count == 0 and row.reviewed is False
    assert b"Queued" in as_reviewer.get(LIST).content


def test_a_new_prediction_is_unreviewed_until_signed_off(as_reviewer, make_study, reviewer):
    study = make_study()
    review_signed_off(prediction=study.predictions.get(), reviewer=reviewer)
    newer = model_version_create(identity="b" * 64, name="Second build")
    prediction_add(study=study, model_version=newer, probabilities={"Nodule": 0.7})
    [row] = listed(as_reviewer)
    assert (row.top_finding, row.reviewed) == ("Nodule", False)


def test_it_filters_by_status(as_reviewer, make_study):
    done, failed = make_study(), make_study(status="failed", predicted=False)
    assert listed(as_reviewer, status__exact="failed") == [failed]
    assert listed(as_reviewer, status__exact="done") == [done]


def test_it_filters_by_a_finding_at_or_above_its_threshold(as_reviewer, make_study):
    effusion = make_study(probabilities={"Effusion": 0.5})
    make_study(probabilities={"Effusion": 0.49})
    assert listed(as_reviewer, flagged="Effusion") == [effusion]


def test_it_filters_by_the_model_version_of_the_latest_prediction(as_reviewer, make_study):
    newer = model_version_create(identity="b" * 64, name="Second build")
    old = make_study()
    rerun = make_study()
    prediction_add(study=rerun, model_version=newer, probabilities={})
    assert listed(as_reviewer, model_version=str(newer.pk)) == [rerun]
    assert listed(as_reviewer, model_version=str(old.predictions.get().model_version_id)) == [old]


def test_it_filters_by_reviewed(as_reviewer, make_study, reviewer):
    reviewed, unreviewed = make_study(), make_study()
    review_signed_off(prediction=reviewed.predictions.get(), reviewer=reviewer)
    assert listed(as_reviewer, reviewed="yes") == [reviewed]
    assert listed(as_reviewer, reviewed="no") == [unreviewed]


def test_it_filters_by_date(as_reviewer, make_study):
    old, new = make_study(), make_study()
    Study.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=40))
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    assert listed(as_reviewer, created_at__gte=str(today)) == [new]


@pytest.mark.parametrize("term", ["P-77", "ACC-77", "77" * 32])
def test_it_finds_a_study_by_patient_accession_or_sha256(as_reviewer, make_study, term):
    wanted = make_study(patient_id="P-77", accession_number="ACC-77")
    Study.objects.filter(pk=wanted.pk).update(image_sha256="77" * 32)
    make_study(patient_id="P-1", accession_number="ACC-1")
    assert listed(as_reviewer, q=term) == [wanted]


def test_a_list_of_20_studies_takes_a_fixed_number_of_queries(as_reviewer, make_study, reviewer,
                                                              django_assert_max_num_queries):
    for number in range(2):
        make_study(probabilities={"Mass": 0.7})
    as_reviewer.get(LIST)  # the session and the permissions, loaded once
    with CaptureQueriesContext(connection) as two:
        assert len(listed(as_reviewer)) == 2
    for number in range(18):
        study = make_study(probabilities={"Mass": 0.7})
        if number % 2:
            review_signed_off(prediction=study.predictions.get(), reviewer=reviewer)
    with django_assert_max_num_queries(12):
        assert len(listed(as_reviewer)) == 20
    with CaptureQueriesContext(connection) as twenty:
        listed(as_reviewer)
    assert len(twenty) == len(two)


def test_it_says_when_listed_results_are_not_medical_predictions(as_reviewer, make_study):
    make_study()
    page = as_reviewer.get(LIST).content.decode()
    assert 'id="standin-warning"' in page and "not medical predictions" in page


def test_results_of_verified_weights_carry_no_warning(as_reviewer, make_study):
    make_study(model_version=model_version_create(identity="c" * 64, name="Published",
                                                  weights_verified=True))
    make_study(status="queued", predicted=False)
    assert 'id="standin-warning"' not in as_reviewer.get(LIST).content.decode()
