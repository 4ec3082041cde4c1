"""A worker's study carries a heartbeat while it is diagnosed, and only the claim it was given."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from diagnoses.heartbeat import study_heartbeat
from diagnoses.models import Study
from tests.factories import study_stored

# The beats come from another thread: real transactions. Serialized rollback, as every
# transactional test here: its flush then leaves the tables empty for the next one to reload (a
# plain flush re-creates content types under new ids on PostgreSQL, which the reload collides with).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
LONG_AGO = timedelta(hours=1)


@pytest.fixture(autouse=True)
def quick_heartbeat(settings):
    settings.CHEXWEB_STUDY_HEARTBEAT_S = 0.05


@pytest.fixture
def claimed(clinician) -> Study:
    """A study a worker claimed an hour ago, its last heartbeat as old."""
    claimed_at = timezone.now() - LONG_AGO
    return study_stored(uploaded_by=clinician, status=Study.Status.PROCESSING,
                        started_at=claimed_at, heartbeat_at=claimed_at)


def heartbeat_age(study: Study) -> timedelta:
    return timezone.now() - Study.objects.get(pk=study.pk).heartbeat_at


def test_a_study_beats_while_its_worker_is_at_it_and_stops_after(claimed):
    with study_heartbeat(study_id=claimed.pk, claimed_at=claimed.started_at):
        time.sleep(0.5)
        assert heartbeat_age(claimed) < timedelta(seconds=0.3)
    last = Study.objects.get(pk=claimed.pk).heartbeat_at
    time.sleep(0.3)
    assert Study.objects.get(pk=claimed.pk).heartbeat_at == last


def test_a_beat_never_keeps_alive_a_claim_that_is_not_its_own(claimed):
    taken_back_at = claimed.started_at - timedelta(seconds=1)  # the sweeper took it back since
    with study_heartbeat(study_id=claimed.pk, claimed_at=taken_back_at):
        time.sleep(0.3)
    assert heartbeat_age(claimed) >= LONG_AGO


def test_a_finished_study_is_not_beaten(claimed):
    Study.objects.filter(pk=claimed.pk).update(status=Study.Status.DONE)
    with study_heartbeat(study_id=claimed.pk, claimed_at=claimed.started_at):
        time.sleep(0.3)
    assert heartbeat_age(claimed) >= LONG_AGO
