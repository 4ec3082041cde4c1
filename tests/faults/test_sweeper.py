"""The sweeper queues again what is stuck, once, and leaves everything else alone."""

from datetime import timedelta

import pytest
from django.utils import timezone

from diagnoses.models import Study
from diagnoses.sweeper import stuck_studies_sweep
from tests.factories import study_stored

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def deadlines(settings):
    settings.CHEXWEB_STUCK_QUEUED_S = 600
    settings.CHEXWEB_STUCK_PROCESSING_S = 360
    settings.CHEXWEB_STUCK_GIVE_UP_S = 6 * 3600


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """The study ids whose diagnosis task was sent."""
    from diagnoses.tasks import diagnose_study

    ids = []
    monkeypatch.setattr(diagnose_study, "delay", ids.append)
    return ids


@pytest.fixture
def study(clinician):
    """Make a study in a state, its clock set `ago` seconds back."""

    def make(status: str, *, updated_s: int = 0, started_s: int | None = None,
             created_s: int = 0, queued_s: int | None = None) -> Study:
        now = timezone.now()
        made = study_stored(uploaded_by=clinician, status="queued")
        Study.objects.filter(pk=made.pk).update(
            status=status,
            created_at=now - timedelta(seconds=created_s),
            queued_at=now - timedelta(seconds=created_s if queued_s is None else queued_s),
            updated_at=now - timedelta(seconds=updated_s),
            started_at=None if started_s is None else now - timedelta(seconds=started_s),
        )
        made.refresh_from_db()
        return made

    return make


def test_it_leaves_studies_within_their_deadlines_alone(study, sent):
    study("queued", updated_s=599)
    study("processing", started_s=359)
    sweep = stuck_studies_sweep()
    assert (sweep.resent, sweep.requeued, sweep.failed, sent) == ([], [], [], [])


def test_it_never_touches_finished_studies(study, sent):
    done, failed = study("done", updated_s=10**6), study("failed", updated_s=10**6)
    stuck_studies_sweep()
    assert sent == []
    assert Study.objects.get(pk=done.pk).status == "done"
    assert Study.objects.get(pk=failed.pk).status == "failed"


def test_it_sends_again_the_task_of_a_study_queued_past_the_deadline(study, sent):
    stuck = study("queued", updated_s=601)
    sweep = stuck_studies_sweep()
    assert sweep.resent == [stuck.pk] and sent == [str(stuck.pk)]
    assert Study.objects.get(pk=stuck.pk).status == "queued"


def test_it_queues_again_a_study_whose_worker_died(study, sent):
    stuck = study("processing", started_s=361, created_s=400)
    sweep = stuck_studies_sweep()
    assert sweep.requeued == [stuck.pk] and sent == [str(stuck.pk)]
    stuck.refresh_from_db()
    assert stuck.status == "queued" and stuck.started_at is None


def test_it_sends_a_stuck_study_once_when_two_sweepers_run(study, sent):
    queued, processing = study("queued", updated_s=601), study("processing", started_s=361)
    now = timezone.now()
    first, second = stuck_studies_sweep(now=now), stuck_studies_sweep(now=now)
    assert (first.resent, first.requeued) == ([queued.pk], [processing.pk])
    assert (second.resent, second.requeued) == ([], [])
    assert sorted(sent) == sorted([str(queued.pk), str(processing.pk)])


def test_it_sends_a_study_again_once_per_deadline(study, sent):
    stuck = study("queued", updated_s=601)
    now = timezone.now()
    stuck_studies_sweep(now=now)
    stuck_studies_sweep(now=now + timedelta(seconds=599))
    stuck_studies_sweep(now=now + timedelta(seconds=601))
    assert sent == [str(stuck.pk)] * 2


def test_it_fails_a_stuck_study_older_than_the_give_up_deadline(study, sent):
    stuck = study("processing", started_s=361, created_s=6 * 3600 + 1)
    sweep = stuck_studies_sweep()
    assert sweep.failed == [stuck.pk] and sent == []
    stuck.refresh_from_db()
    assert stuck.status == "failed" and stuck.finished_at is not None
    assert stuck.failure_reason == (
        "The study did not finish within 6 h of being queued: the worker processing it stopped. "
        "The study can be re-run."
    )


def test_a_study_re_run_long_after_its_upload_is_queued_again_not_failed(study, sent):
    stuck = study("processing", started_s=361, created_s=30 * 24 * 3600, queued_s=400)
    sweep = stuck_studies_sweep()
    assert sweep.requeued == [stuck.pk] and sweep.failed == []
    assert Study.objects.get(pk=stuck.pk).status == "queued"


def test_a_re_run_starts_the_give_up_deadline_again(clinician):
    from diagnoses import services

    month_ago = timezone.now() - timedelta(days=30)
    old = study_stored(uploaded_by=clinician)
    Study.objects.filter(pk=old.pk).update(status="done", created_at=month_ago,
                                           queued_at=month_ago)
    services.study_rerun(study=old)
    old.refresh_from_db()
    assert old.status == "queued" and timezone.now() - old.queued_at < timedelta(minutes=1)
