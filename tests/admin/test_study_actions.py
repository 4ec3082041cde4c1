"""The study list's actions: re-run with the active model version, mark reviewed, export CSV."""

import csv
import io

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from diagnoses.models import AuditEvent, FindingVerdict, Review, Study
from tests.factories import model_version_create, prediction_add

pytestmark = pytest.mark.django_db

LIST = reverse("admin:diagnoses_study_changelist")


def act(client, action: str, studies, *, confirmed: bool = True):
    """The action on `studies`; for mark_reviewed, through its confirmation page unless not
    `confirmed`."""
    data = {"action": action, "index": 0,
            helpers.ACTION_CHECKBOX_NAME: [str(s.pk) for s in studies]}
    if action == "mark_reviewed" and confirmed:
        data["post"] = "yes"
    return client.post(LIST, data, follow=action != "export_csv")


def draft_with_verdict(study, reviewer, finding="Mass", verdict="agree", note=""):
    prediction = study.predictions.order_by("-pk").first()
    draft = Review.objects.create(prediction=prediction, reviewer=reviewer, note=note)
    FindingVerdict.objects.create(review=draft, finding=prediction.findings.get(name=finding),
                                  verdict=verdict)
    return draft


def audited(action: str) -> list[tuple]:
    return sorted((str(e.study_id), e.channel, e.user.username)
                  for e in AuditEvent.objects.filter(action=action))


def test_rerun_queues_each_finished_study_once_and_audits_it(as_reviewer, make_study,
                                                            django_capture_on_commit_callbacks):
    done, failed = make_study(), make_study(status="failed", predicted=False)
    model_version_create(identity="b" * 64, name="Second build", state="active")
    with django_capture_on_commit_callbacks() as queued:
        response = act(as_reviewer, "rerun_with_active_model_version", [done, failed])
    assert len(queued) == 4  # each study: its diagnosis queued, its status change told
    assert set(Study.objects.values_list("status", flat=True)) == {"queued"}
    assert "2 studies queued for model version Second build" in response.content.decode()
    assert audited("rerun") == sorted([(str(done.pk), "admin", "dr.cuddy"),
                                       (str(failed.pk), "admin", "dr.cuddy")])


def test_rerun_leaves_studies_in_progress_alone(as_reviewer, make_study,
                                                django_capture_on_commit_callbacks):
    busy = make_study(status="processing", predicted=False)
    with django_capture_on_commit_callbacks() as queued:
        response = act(as_reviewer, "rerun_with_active_model_version", [busy])
    assert queued == [] and not AuditEvent.objects.filter(action="rerun").exists()
    assert "in progress already and were left alone" in response.content.decode()
    busy.refresh_from_db()
    assert busy.status == "processing"


def test_mark_reviewed_signs_off_the_latest_prediction_as_the_acting_user(as_reviewer, reviewer,
                                                                          make_study):
    study = make_study()
    newer = model_version_create(identity="b" * 64, name="Second build")
    latest = prediction_add(study=study, model_version=newer, probabilities={"Mass": 0.8})
    draft_with_verdict(study, reviewer)
    response = act(as_reviewer, "mark_reviewed", [study])
    review = Review.objects.get()
    assert (review.prediction, review.reviewer) == (latest, reviewer)
    assert review.signed_off_at is not None
    assert "1 studies marked reviewed by you" in response.content.decode()
    assert audited("review") == [(str(study.pk), "admin", "dr.cuddy")]


def test_mark_reviewed_keeps_the_note_and_verdicts_of_a_draft(as_reviewer, reviewer, make_study):
    study = make_study(probabilities={"Mass": 0.8})
    prediction = study.predictions.get()
    draft = Review.objects.create(prediction=prediction, reviewer=reviewer, note="subtle mass")
    FindingVerdict.objects.create(review=draft, finding=prediction.findings.get(name="Mass"),
                                  verdict="agree")
    act(as_reviewer, "mark_reviewed", [study])
    draft.refresh_from_db()
    assert draft.signed_off and draft.note == "subtle mass"
    assert [v.verdict for v in draft.verdicts.all()] == ["agree"]


def test_marking_twice_changes_nothing_the_second_time(as_reviewer, reviewer, make_study):
    study = make_study()
    draft_with_verdict(study, reviewer)
    act(as_reviewer, "mark_reviewed", [study])
    signed_at = Review.objects.get().signed_off_at
    response = act(as_reviewer, "mark_reviewed", [study])
    assert Review.objects.get().signed_off_at == signed_at
    assert "1 you had signed off already" in response.content.decode()
    assert AuditEvent.objects.filter(action="review").count() == 1


def test_a_study_without_a_prediction_is_not_marked(as_reviewer, make_study):
    response = act(as_reviewer, "mark_reviewed", [make_study(status="queued", predicted=False)])
    assert not Review.objects.exists()
    assert "have no prediction yet" in response.content.decode()


def test_mark_reviewed_asks_to_confirm_and_signs_off_nothing_before(as_reviewer, reviewer,
                                                                     make_study):
    ready, bare = make_study(patient_id="READY-1"), make_study(patient_id="BARE-1")
    draft_with_verdict(ready, reviewer)
    page = act(as_reviewer, "mark_reviewed", [ready, bare], confirmed=False).content.decode()
    assert "Sign off 1 of the 2 selected studies?" in page
    assert "READY-1" in page and "Mass agree" in page
    assert "BARE-1" in page and "no verdicts of yours" in page
    assert not Review.objects.filter(signed_off_at__isnull=False).exists()


def test_a_study_without_verdicts_is_not_signed_off(as_reviewer, make_study):
    study = make_study()
    response = act(as_reviewer, "mark_reviewed", [study])
    assert not Review.objects.filter(signed_off_at__isnull=False).exists()
    assert "1 have no verdicts of yours and were not marked" in response.content.decode()
    assert not AuditEvent.objects.filter(action="review").exists()


def test_export_writes_the_selection_as_csv_and_audits_each_study(as_reviewer, make_study):
    wanted = make_study(patient_id="P-7", probabilities={"Effusion": 0.91, "Mass": 0.62})
    make_study(patient_id="P-8")
    response = act(as_reviewer, "export_csv", [wanted])
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="chexweb-studies-')
    [row] = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert (row["study id"], row["patient id"], row["top finding"]) == (
        str(wanted.pk), "P-7", "Effusion")
    assert (row["top finding probability"], row["flagged findings"], row["reviewed"]) == (
        "0.9100", "Effusion; Mass", "no")
    assert audited("export") == [(str(wanted.pk), "admin", "dr.cuddy")]


def test_an_action_without_its_permission_is_not_offered(as_reviewer, reviewer, make_study):
    from django.contrib.auth.models import Permission

    reviewer.groups.get().permissions.remove(Permission.objects.get(codename="export_study"))
    study = make_study()
    actions = as_reviewer.get(LIST).context["action_form"].fields["action"].choices
    assert "export_csv" not in dict(actions)
    response = act(as_reviewer, "export_csv", [study])
    assert response.get("Content-Type", "").startswith("text/html")
    assert not AuditEvent.objects.filter(action="export").exists()
