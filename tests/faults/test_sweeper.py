"""The sweeper queues again what is stuck, once, and leaves everything else alone. The broker is
a real Redis, its messages sent and taken by Celery and kombu as the web and worker processes do."""

from datetime import timedelta

import pytest
import redis
from django.db.models import Q
from django.utils import timezone

from chexweb.celery import app
from diagnoses.models import Study
from diagnoses.sweeper import stuck_studies_sweep
from tests.factories import study_stored
from tests.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def deadlines(settings):
    settings.CHEXWEB_STUCK_QUEUED_S = 20
    settings.CHEXWEB_STUCK_PROCESSING_S = 30
    settings.CHEXWEB_STUCK_MAX_WORKER_LOSSES = 3
    settings.CHEXWEB_STUCK_GIVE_UP_S = 6 * 3600


class Broker:
    """The suite's Redis as the broker: diagnosis messages sent to it, and taken from it by a
    worker that then dies holding them."""

    def __init__(self, url: str):
        self.url = url
        self.connections = []

    def send(self, study: Study, *, countdown: float | None = None) -> None:
        from diagnoses.tasks import diagnose_study

        with app.connection_for_write(self.url) as connection:
            diagnose_study.apply_async(args=[str(study.pk)], countdown=countdown,
                                       connection=connection)

    def take(self) -> None:
        """Take the next message as a worker does (held, unacknowledged), then die holding it."""
        connection = app.connection_for_read(self.url)
        self.connections.append(connection)
        assert connection.default_channel.basic_get("celery", no_ack=False) is not None
        connection.default_channel.do_restore = False  # SIGKILL: nothing is put back

    def close(self) -> None:
        for connection in self.connections:
            connection.close()


@pytest.fixture(autouse=True)
def broker(settings, redis_url) -> Broker:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    settings.CELERY_BROKER_URL = redis_url
    broker = Broker(redis_url)
    yield broker
    broker.close()
    client.flushdb()


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
             heartbeat_s: int | None = None, created_s: int = 0, queued_s: int | None = None,
             worker_losses: int = 0) -> Study:
        now = timezone.now()
        made = study_stored(uploaded_by=clinician, status="queued")
        Study.objects.filter(pk=made.pk).update(
            status=status,
            created_at=now - timedelta(seconds=created_s),
            queued_at=now - timedelta(seconds=created_s if queued_s is None else queued_s),
            updated_at=now - timedelta(seconds=updated_s),
            started_at=None if started_s is None else now - timedelta(seconds=started_s),
            heartbeat_at=None if heartbeat_s is None else now - timedelta(seconds=heartbeat_s),
            worker_losses=worker_losses,
        )
        made.refresh_from_db()
        return made

    return make


def test_it_leaves_studies_within_their_deadlines_alone(study, sent):
    study("queued", updated_s=19)
    study("processing", started_s=29)
    study("processing", started_s=3600, heartbeat_s=29)  # a long diagnosis, its worker alive
    sweep = stuck_studies_sweep()
    assert (sweep.resent, sweep.requeued, sweep.failed, sent) == ([], [], [], [])


def test_it_never_touches_finished_studies(study, sent):
    done, failed = study("done", updated_s=10**6), study("failed", updated_s=10**6)
    stuck_studies_sweep()
    assert sent == []
    assert Study.objects.get(pk=done.pk).status == "done"
    assert Study.objects.get(pk=failed.pk).status == "failed"


def test_it_sends_again_the_task_of_a_study_queued_past_the_deadline(study, sent):
    stuck = study("queued", updated_s=21)  # its message in no queue, held by no worker
    sweep = stuck_studies_sweep()
    assert sweep.resent == [stuck.pk] and sent == [str(stuck.pk)]
    assert Study.objects.get(pk=stuck.pk).status == "queued"


def test_it_queues_again_a_study_whose_worker_died(study, sent):
    stuck = study("processing", started_s=400, heartbeat_s=31, created_s=400)
    sweep = stuck_studies_sweep()
    assert sweep.requeued == [stuck.pk] and sent == [str(stuck.pk)]
    stuck.refresh_from_db()
    assert stuck.status == "queued" and stuck.started_at is None and stuck.heartbeat_at is None
    assert stuck.worker_losses == 1


def test_it_sends_a_stuck_study_once_when_two_sweepers_run(study, sent):
    queued, processing = study("queued", updated_s=21), study("processing", started_s=31)
    now = timezone.now()
    first, second = stuck_studies_sweep(now=now), stuck_studies_sweep(now=now)
    assert (first.resent, first.requeued) == ([queued.pk], [processing.pk])
    assert (second.resent, second.requeued) == ([], [])
    assert sorted(sent) == sorted([str(queued.pk), str(processing.pk)])


def test_it_sends_a_study_again_once_per_deadline(study, sent):
    stuck = study("queued", updated_s=21)
    now = timezone.now()
    stuck_studies_sweep(now=now)
    stuck_studies_sweep(now=now + timedelta(seconds=19))
    stuck_studies_sweep(now=now + timedelta(seconds=21))
    assert sent == [str(stuck.pk)] * 2


def test_it_fails_a_stuck_study_older_than_the_give_up_deadline(study, sent):
    stuck = study("processing", started_s=361, heartbeat_s=31, created_s=6 * 3600 + 1)
    sweep = stuck_studies_sweep()
    assert sweep.failed == [stuck.pk] and sent == []
    stuck.refresh_from_db()
    assert stuck.status == "failed" and stuck.finished_at is not None
    assert stuck.failure_reason == (
        "The study did not finish within 6 h of being queued: the worker processing it stopped. "
        "The study can be re-run."
    )


def test_a_study_re_run_long_after_its_upload_is_queued_again_not_failed(study, sent):
    stuck = study("processing", started_s=361, heartbeat_s=31, created_s=30 * 24 * 3600,
                  queued_s=400)
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


def test_it_fails_a_study_with_one_write_at_the_sweep_s_time(study, sent,
                                                             django_capture_on_commit_callbacks):
    stuck = study("processing", started_s=400, created_s=6 * 3600 + 60)
    now = timezone.now() - timedelta(seconds=5)
    with django_capture_on_commit_callbacks() as told:
        sweep = stuck_studies_sweep(now=now)
    stuck.refresh_from_db()
    assert sweep.failed == [stuck.pk] and stuck.finished_at == stuck.updated_at == now
    assert len(told) == 2  # its callback receiver is told once, its pages once


def test_a_study_a_worker_took_meanwhile_is_not_failed(study):
    from diagnoses import services

    taken = study("processing", started_s=10, created_s=6 * 3600 + 1)
    stopped_before = timezone.now() - timedelta(seconds=360)
    assert not services.study_fail(study_id=taken.pk, reason="stuck", still=Q(
        status="processing", started_at__lt=stopped_before))
    assert Study.objects.get(pk=taken.pk).status == "processing"


def test_it_leaves_a_study_waiting_in_a_queue_however_long_the_backlog(study, sent, broker):
    waiting = study("queued", updated_s=3600)
    broker.send(waiting)
    assert stuck_studies_sweep().resent == [] and sent == []


def test_it_leaves_a_study_whose_worker_just_took_its_message(study, sent, broker):
    taken = study("queued", updated_s=3600)
    broker.send(taken)
    broker.take()
    assert stuck_studies_sweep().resent == [] and sent == []


def test_it_sends_again_a_study_whose_message_a_worker_died_holding(study, sent, broker):
    taken = study("queued", updated_s=3600)
    broker.send(taken)
    broker.take()  # and dies before claiming the study
    now = timezone.now()
    assert stuck_studies_sweep(now=now + timedelta(seconds=19)).resent == []
    assert stuck_studies_sweep(now=now + timedelta(seconds=21)).resent == [taken.pk]
    assert sent == [str(taken.pk)]


def test_a_study_waiting_for_its_retry_is_sent_again_only_long_after_it_was_due(
        study, sent, broker):
    retrying = study("queued", updated_s=3600)
    broker.send(retrying, countdown=60)  # the retry after a model server outage
    broker.take()  # a worker holds it until it is due
    now = timezone.now()
    assert stuck_studies_sweep(now=now + timedelta(seconds=75)).resent == []
    assert stuck_studies_sweep(now=now + timedelta(seconds=85)).resent == [retrying.pk]


def test_it_tells_one_study_from_another_in_the_broker(study, sent, broker):
    waiting, lost = study("queued", updated_s=60), study("queued", updated_s=60)
    broker.send(waiting)
    assert stuck_studies_sweep().resent == [lost.pk] and sent == [str(lost.pk)]


def test_an_unreadable_broker_sends_nothing_and_recovers_the_rest(study, sent, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    queued, processing = study("queued", updated_s=60), study("processing", started_s=31)
    sweep = stuck_studies_sweep()
    assert (sweep.resent, sweep.requeued) == ([], [processing.pk])
    assert Study.objects.get(pk=queued.pk).status == "queued"


def test_it_fails_a_study_whose_workers_keep_stopping(study, sent):
    poison = study("processing", started_s=31, worker_losses=2)
    sweep = stuck_studies_sweep()
    assert sweep.failed == [poison.pk] and sent == []
    poison.refresh_from_db()
    assert (poison.status, poison.worker_losses) == ("failed", 3)
    assert poison.failure_reason == (
        "The worker diagnosing the study stopped 3 times (killed, out of memory or its machine "
        "lost); it is not tried again. The study can be re-run."
    )


def test_a_re_run_counts_the_worker_losses_again_from_zero(study):
    from diagnoses import services

    failed = study("failed", worker_losses=3)
    services.study_rerun(study=failed)
    assert Study.objects.get(pk=failed.pk).worker_losses == 0
