"""`/metrics`: studies per status, the Celery backlog in Redis and how long studies took, for a
staff login or the scraper's bearer token only."""

import math
from datetime import timedelta

import pytest
import redis
from django.core.cache import cache
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from diagnoses.models import Study
from diagnoses.web.metrics import DONE_KEY
from tests.factories import study_stored, user_create
from tests.processes import free_port

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-the-tests-0123456789"


@pytest.fixture
def broker(settings, redis_url):
    """An empty Redis database of its own as the broker."""
    settings.REDIS_URL = redis_url.rsplit("/", 1)[0] + "/7"
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def scraper(client, settings, broker):
    settings.CHEXWEB_METRICS_TOKEN = TOKEN
    cache.delete(DONE_KEY)  # another test's count, kept by this process
    return client


def scrape(client) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.content.decode())
            for sample in family.samples}


def test_it_refuses_anyone_without_a_staff_login_or_the_token(client, settings, broker,
                                                              clinician):
    settings.CHEXWEB_METRICS_TOKEN = TOKEN
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    client.force_login(clinician)
    assert client.get("/metrics").status_code == 403


def test_a_staff_login_reads_it_without_a_token(client, broker):
    admin = user_create(username="ops", is_staff=True)
    client.force_login(admin)
    assert client.get("/metrics").status_code == 200


def test_no_token_set_means_no_token_works(client, settings, broker):
    settings.CHEXWEB_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_it_counts_studies_per_status(scraper, clinician):
    for status in ["queued", "queued", "processing", "done", "done", "done"]:
        study_stored(uploaded_by=clinician, status=status)
    metrics = scrape(scraper)
    assert {status: metrics[("chexweb_studies", (("status", status),))]
            for status in Study.Status.values} == {"queued": 2, "processing": 1, "done": 3,
                                                   "failed": 0, "not_eligible": 0}


def test_the_done_count_is_kept_a_minute_the_others_are_counted_at_each_scrape(
        scraper, clinician):
    def counted() -> tuple[float, float]:
        metrics = scrape(scraper)
        return tuple(metrics[("chexweb_studies", (("status", status),))]
                     for status in ("done", "queued"))

    study_stored(uploaded_by=clinician, status="done")
    assert counted() == (1, 0)
    study_stored(uploaded_by=clinician, status="done")
    study_stored(uploaded_by=clinician, status="queued")
    assert counted() == (1, 1)
    cache.delete(DONE_KEY)  # the minute is over
    assert counted() == (2, 1)


def test_it_reports_the_queue_depth_in_redis(scraper, broker):
    broker.rpush("celery", "a", "b", "c")
    broker.rpush("celery\x06\x169", "prioritised")
    broker.hset("unacked", "tag-1", "taken by a worker")
    metrics = scrape(scraper)
    assert metrics[("chexweb_redis_up", ())] == 1
    assert metrics[("chexweb_queue_messages", (("queue", "celery"),))] == 4
    assert metrics[("chexweb_queue_unacknowledged", ())] == 1


def test_it_says_when_redis_is_down(scraper, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    metrics = scrape(scraper)
    assert metrics[("chexweb_redis_up", ())] == 0
    assert not any(name == "chexweb_queue_messages" for name, _ in metrics)


def test_it_reports_latency_of_the_studies_finished_in_the_last_hour(scraper, clinician):
    now = timezone.now()
    for number in range(10):  # queued 1..10 s, processed in 2 s
        study = study_stored(uploaded_by=clinician, status="done")
        Study.objects.filter(pk=study.pk).update(
            created_at=now - timedelta(seconds=60),
            started_at=now - timedelta(seconds=59 - number),
            finished_at=now - timedelta(seconds=57 - number))
    old = study_stored(uploaded_by=clinician, status="failed")
    Study.objects.filter(pk=old.pk).update(created_at=now - timedelta(hours=3),
                                           started_at=now - timedelta(hours=3),
                                           finished_at=now - timedelta(hours=2))
    metrics = scrape(scraper)
    assert metrics[("chexweb_studies_finished_last_hour", (("status", "done"),))] == 10
    assert metrics[("chexweb_studies_finished_last_hour", (("status", "failed"),))] == 0

    def seconds(stage, quantile):
        return metrics[("chexweb_study_seconds_last_hour",
                        (("quantile", quantile), ("stage", stage)))]

    assert seconds("queue", "0.5") == pytest.approx(5)
    assert seconds("queue", "0.95") == pytest.approx(10)
    assert seconds("processing", "0.99") == pytest.approx(2)
    assert seconds("total", "1.0") == pytest.approx(12)


def test_no_finished_study_is_no_data_not_zero(scraper):
    metrics = scrape(scraper)
    assert math.isnan(metrics[("chexweb_study_seconds_last_hour",
                               (("quantile", "0.5"), ("stage", "total")))])
