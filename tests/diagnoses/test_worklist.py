"""The worklist: studies read and not signed off, overdue first, then by the urgency admins set
per finding, then by waiting time; its JSON, the navigation count and the thresholds form."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from diagnoses import model_versions
from diagnoses.models import ModelVersion, Study
from diagnoses.worklist import urgent_unread_count, worklist
from inference.findings import FINDINGS
from tests.factories import prediction_add, review_signed_off, study_stored

pytestmark = pytest.mark.django_db


@pytest.fixture
def model_version():
    version = ModelVersion.objects.create(identity="a" * 64, name="CheXNet", state="active")
    model_versions.threshold_set_create(
        model_version=version, thresholds={name: 0.5 for name in FINDINGS},
        urgencies={"Pneumothorax": "urgent", "Effusion": "priority"})
    return version


def read(clinician, model_version, *, minutes_ago: int, flagged=(), **fields) -> Study:
    study = study_stored(uploaded_by=clinician, **fields)
    Study.objects.filter(pk=study.pk).update(created_at=timezone.now() - timedelta(
        minutes=minutes_ago))
    prediction_add(study=study, model_version=model_version,
                   probabilities={name: 0.9 for name in flagged})
    return study


def order() -> list[str]:
    return [entry.study.patient_id for entry in worklist().entries]


def test_urgent_first_then_priority_then_the_longest_waiting(clinician, model_version):
    read(clinician, model_version, minutes_ago=50, patient_id="ROUTINE-OLD")
    read(clinician, model_version, minutes_ago=10, patient_id="ROUTINE-NEW", flagged=["Mass"])
    read(clinician, model_version, minutes_ago=5, patient_id="URGENT-NEW",
         flagged=["Pneumothorax", "Effusion"])
    read(clinician, model_version, minutes_ago=20, patient_id="URGENT-OLD",
         flagged=["Pneumothorax"])
    read(clinician, model_version, minutes_ago=1, patient_id="PRIORITY", flagged=["Effusion"])
    assert order() == ["URGENT-OLD", "URGENT-NEW", "PRIORITY", "ROUTINE-OLD", "ROUTINE-NEW"]
    current = worklist()
    assert (current.total, current.urgent_unread, current.overdue) == (5, 2, 0)
    assert current.entries[1].urgent_findings == ["Pneumothorax"]


def test_a_study_waiting_over_the_maximum_rises_to_the_top(settings, clinician, model_version):
    settings.CHEXWEB_WORKLIST_MAX_WAIT_MINUTES = 60
    read(clinician, model_version, minutes_ago=5, patient_id="URGENT", flagged=["Pneumothorax"])
    read(clinician, model_version, minutes_ago=61, patient_id="CAPPED")
    read(clinician, model_version, minutes_ago=30, patient_id="ROUTINE")
    assert order() == ["CAPPED", "URGENT", "ROUTINE"]
    assert worklist().entries[0].overdue and worklist().overdue == 1


def test_signed_off_unread_and_unfinished_studies_are_left_out(clinician, reviewer,
                                                               model_version):
    signed = read(clinician, model_version, minutes_ago=5, patient_id="SIGNED",
                  flagged=["Pneumothorax"])
    review_signed_off(prediction=signed.predictions.get(), reviewer=reviewer)
    study_stored(uploaded_by=clinician, status="queued", patient_id="QUEUED")
    study_stored(uploaded_by=clinician, status="not_eligible", patient_id="NOT-ELIGIBLE")
    read(clinician, model_version, minutes_ago=5, patient_id="OPEN")
    assert order() == ["OPEN"]


def test_the_urgency_comes_from_the_latest_reading_and_its_threshold_set(clinician,
                                                                         model_version):
    study = read(clinician, model_version, minutes_ago=5, patient_id="RE-READ",
                 flagged=["Pneumothorax"])
    read(clinician, model_version, minutes_ago=1, patient_id="PRIORITY", flagged=["Effusion"])
    newer = ModelVersion.objects.create(identity="b" * 64, name="Newer")  # its sets: no urgency
    prediction_add(study=study, model_version=newer, probabilities={"Pneumothorax": 0.9})
    assert order() == ["PRIORITY", "RE-READ"]  # routine now


def test_the_page_the_json_and_the_navigation_count(as_clinician, clinician, model_version):
    read(clinician, model_version, minutes_ago=5, patient_id="<b>P-1</b>",
         flagged=["Pneumothorax"])
    page = as_clinician.get(reverse("study-worklist")).content.decode()
    assert "&lt;b&gt;P-1&lt;/b&gt;" in page and "<b>P-1" not in page
    assert 'id="urgent-unread" title="urgent studies not signed off">1<' in page
    data = as_clinician.get(reverse("study-worklist-json")).json()
    assert (data["total"], data["urgent_unread"]) == (1, 1)
    assert data["rows"][0]["urgency"] == "urgent"
    assert data["rows"][0]["urgent_findings"] == ["Pneumothorax"]
    history = as_clinician.get(reverse("study-history")).content.decode()
    assert 'id="urgent-unread"' in history  # every page's navigation


def test_the_counts_stop_at_the_cap_and_say_more_than(monkeypatch, as_clinician, clinician,
                                                        model_version):
    monkeypatch.setattr("diagnoses.worklist.COUNT_CAP", 2)
    for minutes_ago in (300, 290, 280):  # over the 240 minutes' maximum wait: overdue
        read(clinician, model_version, minutes_ago=minutes_ago, flagged=["Pneumothorax"])
    read(clinician, model_version, minutes_ago=5)

    current = worklist()
    assert (current.total, current.urgent_unread, current.overdue) == (3, 3, 3)  # cap + 1
    assert len(current.entries) == 4  # the list itself is not capped
    page = as_clinician.get(reverse("study-worklist")).content.decode()
    assert '<span id="worklist-total">more than 2</span>' in page
    assert '<span id="worklist-urgent">more than 2</span>' in page
    assert '<span id="worklist-overdue">more than 2</span>' in page
    data = as_clinician.get(reverse("study-worklist-json")).json()
    assert data["count_cap"] == 2
    assert data["labels"] == {"total": "more than 2", "urgent_unread": "more than 2",
                              "overdue": "more than 2", "badge": "3"}


def test_under_the_cap_the_counts_are_exact(as_clinician, clinician, model_version):
    read(clinician, model_version, minutes_ago=5, flagged=["Pneumothorax"])
    read(clinician, model_version, minutes_ago=6)
    data = as_clinician.get(reverse("study-worklist-json")).json()
    assert data["labels"] == {"total": "2", "urgent_unread": "1", "overdue": "0", "badge": "1"}


def test_the_worklist_needs_a_login(client):
    assert client.get(reverse("study-worklist-json")).status_code == 302


def test_admins_set_urgencies_with_a_new_threshold_set(as_administrator, model_version):
    data = {name: "0.5" for name in FINDINGS} | {
        f"urgency_{name}": "routine" for name in FINDINGS} | {
        "urgency_Pneumothorax": "urgent", "urgency_Mass": "priority", "note": "triage"}
    as_administrator.post(reverse("admin:diagnoses_modelversion_thresholds",
                                  args=[model_version.pk]), data)
    current = model_version.current_threshold_set()
    assert current.urgencies == {"Pneumothorax": "urgent", "Mass": "priority"}
    assert current.note == "triage"


def test_an_unknown_urgency_is_refused(model_version):
    with pytest.raises(Exception, match="urgent, priority or routine"):
        model_versions.threshold_set_create(
            model_version=model_version, thresholds={name: 0.5 for name in FINDINGS},
            urgencies={"Pneumothorax": "asap"})


def test_the_urgent_count_matches_the_list(clinician, reviewer, model_version):
    read(clinician, model_version, minutes_ago=5, patient_id="A", flagged=["Pneumothorax"])
    both = read(clinician, model_version, minutes_ago=5, patient_id="B",
                flagged=["Pneumothorax", "Effusion"])
    read(clinician, model_version, minutes_ago=5, patient_id="C", flagged=["Effusion"])
    signed = read(clinician, model_version, minutes_ago=5, patient_id="D",
                  flagged=["Pneumothorax"])
    review_signed_off(prediction=signed.predictions.get(), reviewer=reviewer)
    assert urgent_unread_count() == 2
    assert sum(entry.urgency == "urgent" for entry in worklist().entries) == 2
    newer = ModelVersion.objects.create(identity="b" * 64, name="Newer")
    prediction_add(study=both, model_version=newer, probabilities={"Pneumothorax": 0.9})
    assert urgent_unread_count() == 1  # B's latest reading: a set without urgencies
