import pytest
from django.core.exceptions import ValidationError

from diagnoses.models import AuditEvent, Review
from diagnoses.reviews import review_save

pytestmark = pytest.mark.django_db


def review_url(study) -> str:
    prediction = study.predictions.get()
    return f"/api/v1/studies/{study.pk}/predictions/{prediction.pk}/review/"


def test_a_reviewer_saves_verdicts_and_a_note(reviewer_api, reviewer, diagnosed_study):
    response = reviewer_api.post(review_url(diagnosed_study), {
        "verdicts": {"Effusion": "agree", "Hernia": "disagree"}, "note": "small effusion",
    }, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["verdicts"] == {"Effusion": "agree", "Hernia": "disagree"}
    assert (body["reviewer"], body["note"], body["signed_off_at"]) == (
        "dr.cuddy", "small effusion", None)
    assert AuditEvent.objects.filter(action="review", channel="api").exists()


@pytest.mark.parametrize("content_type", ["application/json",
                                          "application/x-www-form-urlencoded"])
def test_a_body_over_the_upload_memory_limit_is_refused_in_the_error_format(
        reviewer_api, diagnosed_study, settings, content_type):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    note = "x" * 1000
    body = f'{{"note": "{note}"}}' if content_type == "application/json" else f"note={note}"
    response = reviewer_api.post(review_url(diagnosed_study), body, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_large"
    assert not Review.objects.exists()


def test_saving_again_replaces_the_draft_and_a_sign_off_makes_it_final(reviewer_api,
                                                                       diagnosed_study):
    url = review_url(diagnosed_study)
    reviewer_api.post(url, {"verdicts": {"Effusion": "agree", "Mass": "agree"}}, format="json")
    signed = reviewer_api.post(url, {"verdicts": {"Mass": "disagree"}, "sign_off": True},
                               format="json").json()
    assert signed["verdicts"] == {"Mass": "disagree"} and signed["signed_off_at"]
    assert Review.objects.count() == 1
    again = reviewer_api.post(url, {"note": "changed my mind"}, format="json")
    assert again.status_code == 409
    assert "signed off" in again.json()["error"]["message"]


def test_the_review_shows_in_the_study(reviewer_api, api, diagnosed_study):
    reviewer_api.post(review_url(diagnosed_study), {"verdicts": {"Edema": "agree"}},
                      format="json")
    [prediction] = api.get(f"/api/v1/studies/{diagnosed_study.pk}/").json()["predictions"]
    [review] = prediction["reviews"]
    assert review["verdicts"] == {"Edema": "agree"}


def test_a_clinician_may_not_review(api, diagnosed_study):
    response = api.post(review_url(diagnosed_study), {"verdicts": {}}, format="json")
    assert response.status_code == 403


@pytest.mark.parametrize("verdicts, field", [
    ({"Headache": "agree"}, "verdicts"),
    ({"Effusion": "maybe"}, "verdicts.Effusion"),
])
def test_a_wrong_verdict_is_refused_naming_it(reviewer_api, diagnosed_study, verdicts, field):
    response = reviewer_api.post(review_url(diagnosed_study), {"verdicts": verdicts},
                                 format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_review_save_refuses_a_finding_the_prediction_does_not_have(reviewer, diagnosed_study):
    with pytest.raises(ValidationError, match="no finding named Headache"):
        review_save(prediction=diagnosed_study.predictions.get(), reviewer=reviewer,
                    verdicts={"Headache": "agree"}, note="", sign_off=False)
    assert not Review.objects.exists()


def test_review_save_refuses_a_verdict_other_than_agree_or_disagree(reviewer, diagnosed_study):
    with pytest.raises(ValidationError, match="agree or disagree"):
        review_save(prediction=diagnosed_study.predictions.get(), reviewer=reviewer,
                    verdicts={"Mass": "unsure"}, note="", sign_off=False)
