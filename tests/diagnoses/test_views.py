import pytest
from django.urls import reverse

from diagnoses.models import Study
from tests.factories import study_diagnosed, study_uploaded, upload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["study-history", "study-upload"])
def test_it_requires_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_health_needs_no_login(client, settings, model_server, redis_url):
    settings.REDIS_URL = redis_url  # /healthz also asks Redis and the model server
    response = client.get(reverse("health"))
    assert response.status_code == 200 and response.content == b"ok"


def test_upload_creates_a_queued_study_and_shows_its_page(as_clinician, clinician,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = as_clinician.post(reverse("study-upload"), {
            "image": upload(), "patient_id": "P-7", "accession_number": "ACC-7", "notes": "cough",
        })
    study = Study.objects.get()
    assert len(callbacks) == 1
    assert response.status_code == 302
    assert response["Location"] == reverse("study-detail", args=[study.pk])
    assert (study.patient_id, study.accession_number, study.uploaded_by) == ("P-7", "ACC-7",
                                                                            clinician)
    page = as_clinician.get(response["Location"])
    assert b"Queued" in page.content and b"updates by itself" in page.content


def test_upload_of_a_text_file_shows_the_error_and_creates_nothing(as_clinician):
    response = as_clinician.post(reverse("study-upload"), {
        "image": upload("notes.png", content=b"hello, I am text"), "patient_id": "P-8",
    })
    assert response.status_code == 400
    assert b"not a readable image" in response.content
    assert not Study.objects.exists()


def test_upload_without_a_file_says_so(as_clinician):
    response = as_clinician.post(reverse("study-upload"), {"patient_id": "P-9"})
    assert response.status_code == 400
    assert b"This field is required" in response.content
    assert not Study.objects.exists()


def test_status_shows_findings_sorted_and_the_unverified_warning(as_clinician, clinician,
                                                                 model_server):
    study = study_diagnosed(uploaded_by=clinician, patient_id="P-1")
    status = as_clinician.get(reverse("study-status", args=[study.pk])).json()
    assert status["status"] == "done" and status["finished"] is True
    probabilities = [f["probability"] for f in status["prediction"]["findings"]]
    assert len(probabilities) == 14 and probabilities == sorted(probabilities, reverse=True)
    model = status["prediction"]["model"]
    assert model["weights_verified"] is False
    assert "not medical predictions" in model["warning"]


def test_result_page_shows_14_findings_and_the_warning(as_clinician, clinician, model_server):
    study = study_diagnosed(uploaded_by=clinician, patient_id="P-1")
    page = as_clinician.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert page.count("data-finding=") == 14
    assert "not medical predictions" in page
    assert "Pleural Thickening" in page and "Hernia" in page


def test_the_image_is_served_only_to_users_with_no_caching(client, as_clinician, clinician):
    study = study_uploaded(uploaded_by=clinician)
    url = reverse("study-image", args=[study.pk])
    response = as_clinician.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "no-store, private"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "nih512" not in response["Content-Disposition"]
    as_clinician.logout()
    assert client.get(url).status_code == 302


@pytest.mark.parametrize("name", ["study-history", "study-upload"])
def test_a_user_without_a_role_is_refused(client, outsider, name):
    client.force_login(outsider)
    assert client.get(reverse(name)).status_code == 403


def test_the_roles_exist_with_their_permissions():
    from django.contrib.auth.models import Group

    clinician, reviewer = Group.objects.get(name="clinician"), Group.objects.get(name="reviewer")
    assert clinician.permissions.filter(codename="add_study").exists()
    assert not clinician.permissions.filter(codename="review_study").exists()
    assert reviewer.permissions.filter(codename="review_study").exists()
    assert Group.objects.get(name="admin").permissions.filter(codename="view_auditevent").exists()
