"""Who reaches what in the admin: clinicians nothing, reviewers the studies but not the audit
log or model-version editing, admins everything."""

import pytest
from django.urls import reverse

from diagnoses.models import ModelVersion

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    ("admin:index", []),
    ("admin:diagnoses_study_changelist", []),
    ("admin:diagnoses_prediction_changelist", []),
    ("admin:diagnoses_review_changelist", []),
    ("admin:diagnoses_modelversion_changelist", []),
    ("admin:diagnoses_auditevent_changelist", []),
]


@pytest.mark.parametrize("name, args", ADMIN_PAGES)
def test_a_clinician_is_sent_to_the_admin_login(as_clinician, name, args):
    response = as_clinician.get(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_clinician_gets_no_study_page_thumbnail_or_model_version_views(as_clinician,
                                                                         make_study,
                                                                         model_version):
    study = make_study()
    for url in [reverse("admin:diagnoses_study_change", args=[study.pk]),
                reverse("admin:diagnoses_study_thumbnail", args=[study.pk]),
                reverse("admin:diagnoses_modelversion_thresholds", args=[model_version.pk])]:
        assert as_clinician.get(url).status_code == 302
    response = as_clinician.post(reverse("admin:diagnoses_modelversion_activate",
                                         args=[model_version.pk]))
    assert response.status_code == 302
    model_version.refresh_from_db()
    assert not model_version.is_active


def test_it_requires_login(client):
    response = client.get(reverse("admin:diagnoses_study_changelist"))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("name", ["admin:diagnoses_study_changelist",
                                  "admin:diagnoses_prediction_changelist",
                                  "admin:diagnoses_review_changelist",
                                  "admin:diagnoses_modelversion_changelist",
                                  "admin:diagnoses_thresholdset_changelist"])
def test_a_reviewer_sees_studies_predictions_reviews_and_model_versions(as_reviewer, name):
    assert as_reviewer.get(reverse(name)).status_code == 200


def test_a_reviewer_does_not_see_the_audit_log(as_reviewer):
    assert as_reviewer.get(reverse("admin:diagnoses_auditevent_changelist")).status_code == 403
    assert b"Audit events" not in as_reviewer.get(reverse("admin:index")).content


def test_a_reviewer_cannot_edit_model_versions(as_reviewer, model_version):
    page = as_reviewer.get(reverse("admin:diagnoses_modelversion_change",
                                   args=[model_version.pk])).content.decode()
    assert "thresholds_form" not in page and 'id="activate"' not in page
    activate = as_reviewer.post(reverse("admin:diagnoses_modelversion_activate",
                                        args=[model_version.pk]))
    thresholds = as_reviewer.post(reverse("admin:diagnoses_modelversion_thresholds",
                                          args=[model_version.pk]), {"Hernia": "0.9"})
    register = as_reviewer.get(reverse("admin:diagnoses_modelversion_add"))
    assert (activate.status_code, thresholds.status_code, register.status_code) == (403, 403, 403)
    model_version.refresh_from_db()
    assert not model_version.is_active and not model_version.threshold_sets.exists()


def test_a_reviewer_cannot_change_or_delete_a_study(as_reviewer, make_study):
    study = make_study(patient_id="P-1")
    change = reverse("admin:diagnoses_study_change", args=[study.pk])
    assert as_reviewer.post(change, {"patient_id": "P-2"}).status_code == 403
    delete = reverse("admin:diagnoses_study_delete", args=[study.pk])
    assert as_reviewer.post(delete, {"post": "yes"}).status_code == 403
    study.refresh_from_db()
    assert study.patient_id == "P-1"


@pytest.mark.parametrize("name, args", ADMIN_PAGES)
def test_an_admin_reaches_every_page(as_administrator, name, args):
    assert as_administrator.get(reverse(name, args=args)).status_code == 200


def test_an_admin_sees_model_version_editing(as_administrator, model_version):
    page = as_administrator.get(reverse("admin:diagnoses_modelversion_change",
                                        args=[model_version.pk])).content.decode()
    assert "thresholds_form" in page and 'id="activate"' in page
    assert as_administrator.get(reverse("admin:diagnoses_modelversion_add")).status_code == 200


def test_nobody_adds_studies_predictions_or_threshold_sets_in_the_admin(as_administrator):
    for name in ["admin:diagnoses_study_add", "admin:diagnoses_prediction_add",
                 "admin:diagnoses_thresholdset_add", "admin:diagnoses_auditevent_add"]:
        assert as_administrator.get(reverse(name)).status_code == 403


def test_a_model_version_cannot_be_deleted(as_administrator, model_version):
    url = reverse("admin:diagnoses_modelversion_delete", args=[model_version.pk])
    assert as_administrator.post(url, {"post": "yes"}).status_code == 403
    assert ModelVersion.objects.filter(pk=model_version.pk).exists()
