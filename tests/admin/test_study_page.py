"""The study page: image and heatmap preview from permission-checked views, read-only
predictions, and an audit trail of views, changes and deletions."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from diagnoses.models import AuditEvent, Study
from tests.factories import model_version_create, prediction_add, study_uploaded, upload

pytestmark = pytest.mark.django_db


def page_of(client, study) -> str:
    response = client.get(reverse("admin:diagnoses_study_change", args=[study.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_the_image_and_the_heatmaps_of_the_top_and_flagged_findings(as_reviewer,
                                                                             make_study):
    study = make_study(probabilities={"Effusion": 0.9, "Mass": 0.6, "Nodule": 0.3})
    prediction = study.predictions.get()
    page = page_of(as_reviewer, study)
    assert reverse("study-image", args=[study.pk]) in page
    for finding in ["Effusion", "Mass"]:
        assert reverse("study-heatmap", args=[study.pk, prediction.pk, finding]) in page
    assert reverse("study-heatmap", args=[study.pk, prediction.pk, "Nodule"]) not in page
    assert "not medical predictions" in page
    assert "/media/" not in page and study.image.name not in page


def test_the_heatmap_preview_comes_from_the_web_apps_permission_checked_view(as_reviewer,
                                                                            make_study):
    study = make_study(probabilities={"Effusion": 0.9})
    url = reverse("study-heatmap", args=[study.pk, study.predictions.get().pk, "Effusion"])
    response = as_reviewer.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    as_reviewer.logout()
    assert as_reviewer.get(url).status_code == 302


def test_the_predictions_are_inline_and_read_only(as_administrator, make_study):
    study = make_study(probabilities={"Effusion": 0.9})
    page = page_of(as_administrator, study)
    assert "Effusion 0.90" in page
    assert 'name="predictions-0-preprocessing"' not in page
    assert "predictions-0-DELETE" not in page


def test_the_thumbnail_is_a_small_private_png(as_reviewer, make_study):
    study = make_study()
    response = as_reviewer.get(reverse("admin:diagnoses_study_thumbnail", args=[study.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert {"no-store", "private"} <= set(response["Cache-Control"].split(", "))
    assert max(Image.open(io.BytesIO(response.content)).size) <= 96


def test_viewing_a_study_is_audited(as_reviewer, reviewer, make_study):
    study = make_study()
    page_of(as_reviewer, study)
    event = AuditEvent.objects.get()
    assert (event.user, event.action, event.study, event.channel) == (
        reviewer, "view", study, "admin")


def test_an_admin_corrects_the_patient_identifier_and_it_is_audited(as_administrator,
                                                                    administrator, make_study):
    study = make_study(patient_id="P-1", accession_number="ACC-1")
    response = as_administrator.post(
        reverse("admin:diagnoses_study_change", args=[study.pk]),
        {"patient_id": "P-2", "accession_number": "ACC-1", "study_date": "", "notes": "",
         "predictions-TOTAL_FORMS": "1", "predictions-INITIAL_FORMS": "1",
         "predictions-MIN_NUM_FORMS": "0", "predictions-MAX_NUM_FORMS": "1000"})
    assert response.status_code == 302
    study.refresh_from_db()
    assert study.patient_id == "P-2" and study.status == "done"
    event = AuditEvent.objects.get(action="change")
    assert (event.user, event.study, event.channel, event.detail) == (
        administrator, study, "admin", "changed patient_id")


def test_only_the_identifiers_date_and_notes_are_editable(as_administrator, make_study):
    study = make_study()
    page = page_of(as_administrator, study)
    for editable in ["patient_id", "accession_number", "study_date", "notes"]:
        assert f'name="{editable}"' in page
    for fixed in ["status", "image_sha256", "uploaded_by", "image"]:
        assert f'name="{fixed}"' not in page


def test_an_admin_deletes_a_study_with_its_predictions_and_it_is_audited(as_administrator,
                                                                       make_study):
    study = make_study(patient_id="P-9")
    response = as_administrator.post(reverse("admin:diagnoses_study_delete", args=[study.pk]),
                                     {"post": "yes"})
    assert response.status_code == 302 and not Study.objects.exists()
    event = AuditEvent.objects.get(action="change")
    assert event.study is None and str(study.pk) in event.detail and "deleted" in event.detail


def test_a_study_read_twice_shows_both_predictions(as_reviewer, make_study):
    study = make_study(probabilities={"Effusion": 0.9})
    prediction_add(study=study,
                   model_version=model_version_create(identity="b" * 64, name="Second build"),
                   probabilities={"Nodule": 0.8})
    page = page_of(as_reviewer, study)
    assert "Second build" in page and "CheXNet stand-in" in page


def test_the_thumbnail_comes_from_the_resized_copy_kept_at_upload(as_reviewer, clinician):
    study = study_uploaded(uploaded_by=clinician, image_file=upload("nih_00000001_000.png"))
    study.image.storage.delete(study.image.name)  # not needed for the thumbnail
    response = as_reviewer.get(reverse("admin:diagnoses_study_thumbnail", args=[study.pk]))
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).size == (96, 96)


def test_a_missing_image_file_gives_no_thumbnail_but_no_error_either(as_reviewer, make_study):
    study = make_study()
    study.image.storage.delete(study.image.name)
    response = as_reviewer.get(reverse("admin:diagnoses_study_thumbnail", args=[study.pk]))
    assert response.status_code == 404
