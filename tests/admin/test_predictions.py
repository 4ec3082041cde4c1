"""Predictions and reviews in the admin: listed with their readings, never edited there."""

import pytest
from django.urls import reverse

from tests.factories import review_signed_off

pytestmark = pytest.mark.django_db


def test_the_prediction_list_shows_top_finding_flagged_count_and_review(as_reviewer, reviewer,
                                                                        make_study):
    prediction = make_study(patient_id="P-7", probabilities={"Effusion": 0.91, "Mass": 0.62}) \
        .predictions.get()
    review_signed_off(prediction=prediction, reviewer=reviewer)
    response = as_reviewer.get(reverse("admin:diagnoses_prediction_changelist"))
    [row] = response.context["cl"].result_list
    assert (row.top_finding, row.top_probability, row.flagged_count, row.reviewed) == (
        "Effusion", 0.91, 2, True)
    assert "P-7" in response.content.decode()


def test_predictions_filter_by_flagged_finding_and_reviewed(as_reviewer, reviewer, make_study):
    effusion = make_study(probabilities={"Effusion": 0.9}).predictions.get()
    other = make_study().predictions.get()
    review_signed_off(prediction=other, reviewer=reviewer)
    url = reverse("admin:diagnoses_prediction_changelist")
    assert list(as_reviewer.get(url, {"flagged": "Effusion"}).context["cl"].result_list) == [
        effusion]
    assert list(as_reviewer.get(url, {"reviewed": "yes"}).context["cl"].result_list) == [other]


def test_a_prediction_page_shows_its_14_findings_read_only(as_administrator, make_study):
    prediction = make_study().predictions.get()
    url = reverse("admin:diagnoses_prediction_change", args=[prediction.pk])
    page = as_administrator.get(url).content.decode()
    assert page.count('class="field-name"') >= 14 and 'name="findings-0-probability"' not in page
    assert as_administrator.post(url, {}).status_code == 403


def test_reviews_are_listed_and_read_only(as_administrator, reviewer, make_study):
    review = review_signed_off(prediction=make_study(patient_id="P-7").predictions.get(),
                               reviewer=reviewer)
    page = as_administrator.get(reverse("admin:diagnoses_review_changelist"),
                                {"signed_off": "yes"}).content.decode()
    assert "dr.cuddy" in page and "P-7" in page
    url = reverse("admin:diagnoses_review_change", args=[review.pk])
    assert as_administrator.post(url, {"note": "x"}).status_code == 403


def test_predictions_of_unverified_weights_say_so(as_reviewer, make_study):
    prediction = make_study().predictions.get()
    for url in [reverse("admin:diagnoses_prediction_changelist"),
                reverse("admin:diagnoses_prediction_change", args=[prediction.pk])]:
        assert "not medical predictions" in as_reviewer.get(url).content.decode()
