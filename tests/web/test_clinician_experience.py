"""Issue 16 through Django's test client: reviews, history, errors, small truths (the browser
tests are tests/system/test_clinician_experience.py)."""

import csv
import io

import pytest
from django.urls import reverse

from diagnoses import services
from diagnoses.models import Review
from diagnoses.reviews import review_save
from tests.factories import (
    model_version_create,
    prediction_add,
    study_stored,
    study_uploaded,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def model_version(db):
    return model_version_create(name="Stand-in")


def reviewed_study(clinician, model_version, **probabilities):
    study = study_stored(uploaded_by=clinician, with_image=True)
    prediction_add(study=study, model_version=model_version, probabilities=probabilities)
    return study, study.predictions.get()


# --- reviews -------------------------------------------------------------------------------

def test_an_empty_review_is_not_saved(as_reviewer, clinician, model_version):
    study, prediction = reviewed_study(clinician, model_version)
    page = as_reviewer.post(reverse("prediction-review", args=[study.pk, prediction.pk]),
                            {"note": "  "}, follow=True).content.decode()
    assert "An empty review is not saved" in page
    assert not Review.objects.exists()


def test_a_sign_off_without_verdicts_is_refused(as_reviewer, clinician, model_version):
    study, prediction = reviewed_study(clinician, model_version)
    page = as_reviewer.post(reverse("prediction-review", args=[study.pk, prediction.pk]),
                            {"note": "looks fine", "sign_off": "on"}, follow=True)
    assert "A sign-off needs verdicts" in page.content.decode()
    assert not Review.objects.exists()


def test_after_sign_off_the_form_is_no_longer_offered(as_reviewer, reviewer, clinician,
                                                      model_version):
    study, prediction = reviewed_study(clinician, model_version)
    review_save(prediction=prediction, reviewer=reviewer, verdicts={"Mass": "agree"}, note="",
                sign_off=True)
    page = as_reviewer.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert 'id="review-form"' not in page and 'id="review-final"' in page
    assert " UTC" in page and "T" not in page.split("signed off ")[1][:16]


def test_the_verdict_table_shows_each_probability_and_the_keys(as_reviewer, clinician,
                                                               model_version):
    study, _ = reviewed_study(clinician, model_version, Effusion=0.873)
    other, _ = reviewed_study(clinician, model_version)
    page = as_reviewer.get(reverse("study-detail", args=[study.pk])).content.decode()
    form = page.split('id="review-form"')[1]
    assert "0.873" in form and "<kbd>a</kbd> agree" in form
    assert f'data-next-url="{reverse("study-detail", args=[other.pk])}"' in page


def test_the_history_shows_a_draft_as_a_draft(as_clinician, reviewer, clinician, model_version):
    study, prediction = reviewed_study(clinician, model_version)
    review_save(prediction=prediction, reviewer=reviewer, verdicts={"Mass": "agree"}, note="",
                sign_off=False)
    page = as_clinician.get(reverse("study-history")).content.decode()
    assert "draft by dr.cuddy" in page


# --- history -------------------------------------------------------------------------------

def test_a_row_without_patient_id_shows_its_file_name_and_a_thumbnail(as_clinician, clinician):
    study = study_uploaded(uploaded_by=clinician)  # a PNG: no patient id
    page = as_clinician.get(reverse("study-history")).content.decode()
    assert "nih512_00027426_000.png" in page
    thumbnail = reverse("study-thumbnail", args=[study.pk])
    assert thumbnail in page
    response = as_clinician.get(thumbnail)
    assert response["Content-Type"] == "image/png" and response.content.startswith(b"\x89PNG")


def test_the_history_sorts_by_probability_and_by_flagged_count(as_clinician, clinician,
                                                                model_version):
    low, _ = reviewed_study(clinician, model_version, Mass=0.2)
    high, _ = reviewed_study(clinician, model_version, Mass=0.95, Edema=0.9)
    mid, _ = reviewed_study(clinician, model_version, Effusion=0.7)
    unread = study_stored(uploaded_by=clinician, status="queued")

    def order(**query):
        page = as_clinician.get(reverse("study-history"), query).content.decode()
        ids = [str(s.pk) for s in (low, high, mid, unread) if str(s.pk) in page]
        return sorted(ids, key=page.index)

    assert order(sort="probability") == [str(s.pk) for s in (high, mid, low, unread)]
    assert order(sort="flagged")[0] == str(high.pk)


def test_from_after_to_is_a_form_error(as_clinician, clinician):
    study_stored(uploaded_by=clinician)
    page = as_clinician.get(reverse("study-history"),
                            {"date_from": "2026-12-01", "date_to": "2026-11-01"})
    text = page.content.decode()
    assert "is before “From”" in text and "No studies match." in text


def test_page_links_have_no_stray_ampersand(as_clinician, clinician):
    for _ in range(26):
        study_stored(uploaded_by=clinician)
    page = as_clinician.get(reverse("study-history")).content.decode()
    assert 'href="?page=2"' in page and "?&" not in page
    page = as_clinician.get(reverse("study-history"), {"search": "P"}).content.decode()
    assert 'href="?search=P&amp;page=2"' in page


# --- errors ------------------------------------------------------------------------------------

def test_a_missing_study_is_a_styled_404(as_clinician):
    response = as_clinician.get("/studies/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    text = response.content.decode()
    assert 'id="error-page"' in text and "chexweb.css" in text and "favicon.svg" in text


def test_an_unknown_patient_is_a_404(as_clinician, clinician):
    study_stored(uploaded_by=clinician, patient_id="KNOWN-1")
    assert as_clinician.get(reverse("patient-detail"), {"id": "KNOWN-1"}).status_code == 200
    response = as_clinician.get(reverse("patient-detail"), {"id": "NOBODY-9"})
    assert response.status_code == 404 and 'id="error-page"' in response.content.decode()


def test_a_403_is_styled(client, outsider):
    client.force_login(outsider)
    response = client.get(reverse("study-history"))
    assert response.status_code == 403 and 'id="error-page"' in response.content.decode()


def test_the_api_docs_send_a_browser_without_a_session_to_the_login_page(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=/api/v1/docs/")


def test_the_api_keeps_its_json_404(client, clinician):
    client.force_login(clinician)
    assert client.get("/api/v1/nothing/").json()["error"]["code"] == "not_found"


def test_a_rerun_with_the_same_model_says_nothing_new_will_appear(as_clinician, clinician,
                                                                  model_version):
    study, _ = reviewed_study(clinician, model_version)
    page = as_clinician.post(reverse("study-rerun", args=[study.pk]), follow=True)
    assert "the earlier prediction is kept and no new one appears" in page.content.decode()


# --- small truths ------------------------------------------------------------------------------

def test_the_size_limit_reads_in_mib_from_the_one_setting(as_clinician, settings):
    settings.STUDY_MAX_UPLOAD_BYTES = 64 * 2**20
    assert "Up to 64 MiB a file." in as_clinician.get(reverse("study-upload")).content.decode()
    settings.STUDY_MAX_UPLOAD_BYTES = 100_000
    with pytest.raises(services.ValidationError, match=r"the limit is 0\.1 MiB"):
        services.study_create(uploaded_by=None, image_file=upload())


def test_the_csv_writes_finding_display_names(as_clinician, clinician, model_version):
    reviewed_study(clinician, model_version, Pleural_Thickening=0.99)
    rows = list(csv.DictReader(io.StringIO(
        as_clinician.get(reverse("study-history-csv")).content.decode())))
    assert rows[0]["top finding"] == "Pleural Thickening"
    assert rows[0]["flagged findings"] == "Pleural Thickening"


def test_the_admin_says_which_version_reads_new_studies(as_administrator, clinician,
                                                        model_version):
    reviewed_study(clinician, model_version)
    page = as_administrator.get(reverse("admin:diagnoses_modelversion_changelist"))
    assert "✓ serving (none pinned" in page.content.decode()
