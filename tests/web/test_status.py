"""The live status: answered at once when the page shows another status, else when the status
changes (published by the services on Redis) or the wait times out; a process's waits capped."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.db import connection
from django.test import Client
from django.urls import reverse

from diagnoses import services, status_changes
from tests.factories import study_stored
from tests.processes import free_port

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def status_redis(settings, redis_url, monkeypatch):
    settings.REDIS_URL = redis_url
    settings.CHEXWEB_STATUS_WAIT_S = 10
    settings.CHEXWEB_STATUS_WAITERS = 8
    monkeypatch.setattr(status_changes, "_waiters", None)  # the cap as these settings say


def status_url(study, after=None, **query):
    url = reverse("study-status", args=[study.pk])
    params = ({"after": after} if after else {}) | query
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def timed(client, url):
    started = time.monotonic()
    response = client.get(url)
    return response, time.monotonic() - started


def timed_elsewhere(client, url):
    """`timed` in a thread of a pool: its own database connection, closed after."""
    try:
        return timed(client, url)
    finally:
        connection.close()


def later(seconds, change):
    """`change` in another thread (its own database connection) after `seconds`."""
    def run():
        time.sleep(seconds)
        try:
            change()
        finally:
            connection.close()
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_it_answers_at_once_when_the_page_shows_another_status(as_clinician, clinician):
    study = study_stored(uploaded_by=clinician, status="queued")
    response, took = timed(as_clinician, status_url(study, after="processing"))
    assert response.status_code == 200 and took < 1
    assert response.json()["status"] == "queued"
    assert "Retry-After" not in response


def test_without_after_it_answers_at_once_as_before(as_clinician, clinician):
    study = study_stored(uploaded_by=clinician, status="queued")
    response, took = timed(as_clinician, status_url(study))
    assert took < 1 and response.json()["status_label"] == "Queued"


def test_it_waits_and_answers_when_a_service_changes_the_status(as_clinician, clinician):
    study = study_stored(uploaded_by=clinician, status="processing")
    changer = later(0.5, lambda: services.study_fail(study_id=study.pk, reason="gone"))
    response, took = timed(as_clinician, status_url(study, after="processing"))
    changer.join()
    assert 0.5 <= took < 2, took  # on the change, not at the 10 s timeout
    assert response.json()["status"] == "failed"
    assert response.json()["failure_reason"] == "gone"


def test_the_change_is_published_after_the_commit_with_the_id_only(clinician, redis_url):
    study = study_stored(uploaded_by=clinician, status="processing")
    with redis.Redis.from_url(redis_url).pubsub() as subscription:
        subscription.subscribe(status_changes.CHANNEL_PREFIX + str(study.pk))
        subscription.get_message(timeout=2)  # the confirmation
        services.study_fail(study_id=study.pk, reason="gone")
        message = subscription.get_message(timeout=2)
    assert message is not None and message["data"] == b""


def test_it_times_out_and_answers_the_same_status(as_clinician, clinician, settings):
    settings.CHEXWEB_STATUS_WAIT_S = 1
    study = study_stored(uploaded_by=clinician, status="queued")
    response, took = timed(as_clinician, status_url(study, after="queued"))
    assert 1 <= took < 3
    assert response.json()["status"] == "queued" and "Retry-After" not in response


def test_a_change_before_the_subscription_is_not_lost(as_clinician, clinician):
    """Committed without a message (as if published before the page subscribed): the read
    after subscribing sees it."""
    study = study_stored(uploaded_by=clinician, status="done")
    response, took = timed(as_clinician, status_url(study, after="processing"))
    assert took < 1 and response.json()["status"] == "done"


def test_the_upload_table_waits_for_any_of_its_studies(as_clinician, clinician):
    waiting, changing = (study_stored(uploaded_by=clinician, status="queued") for _ in range(2))
    changer = later(0.5, lambda: services.study_fail(study_id=changing.pk, reason="gone"))
    url = (reverse("study-statuses") + f"?known={waiting.pk}:queued&known={changing.pk}:queued")
    response, took = timed(as_clinician, url)
    changer.join()
    assert 0.5 <= took < 2, took
    answer = {study["id"]: study["status"] for study in response.json()["studies"]}
    assert answer == {str(waiting.pk): "queued", str(changing.pk): "failed"}


def test_a_new_ask_of_the_same_page_ends_its_earlier_wait(clinician):
    study = study_stored(uploaded_by=clinician, status="queued")
    first, second = Client(), Client()
    first.force_login(clinician)
    second.force_login(clinician)
    url = reverse("study-statuses") + f"?known={study.pk}:queued&page=table-token-1"
    with ThreadPoolExecutor(1) as pool:
        earlier = pool.submit(timed_elsewhere, first, url)
        time.sleep(0.5)
        second.get(url.replace("queued&", "done&"))  # answered at once, ends the first
        _, took = earlier.result()
    assert took < 2, took


@pytest.mark.parametrize("query", ["", "?known=nonsense", "?known=" + "&known=".join(
    f"{uuid.uuid4()}:queued" for _ in range(51))])
def test_the_upload_table_must_name_its_studies(as_clinician, query):
    assert as_clinician.get(reverse("study-statuses") + query).status_code == 400


def test_an_unknown_study_is_not_found_before_any_wait(as_clinician, clinician):
    known = study_stored(uploaded_by=clinician, status="queued")
    unknown = uuid.uuid4()
    response, took = timed(as_clinician, reverse("study-status", args=[unknown]) + "?after=queued")
    assert response.status_code == 404 and took < 1
    url = reverse("study-statuses") + f"?known={known.pk}:queued&known={unknown}:queued"
    response, took = timed(as_clinician, url)
    assert response.status_code == 404 and took < 1


def test_it_requires_login_and_the_role(client, outsider, clinician):
    study = study_stored(uploaded_by=clinician, status="queued")
    for url in (status_url(study, after="queued"),
                reverse("study-statuses") + f"?known={study.pk}:queued"):
        assert client.get(url).status_code == 302
        client.force_login(outsider)
        assert client.get(url).status_code == 403
        client.logout()


def test_over_the_cap_it_answers_at_once_and_says_when_to_ask_again(clinician, settings):
    settings.CHEXWEB_STATUS_WAITERS = 2
    study = study_stored(uploaded_by=clinician, status="queued")
    clients = [Client() for _ in range(3)]
    for client in clients:
        client.force_login(clinician)
    url = status_url(study, after="queued")
    with ThreadPoolExecutor(2) as pool:
        waits = [pool.submit(timed_elsewhere, client, url) for client in clients[:2]]
        time.sleep(1)
        response, took = timed(clients[2], url)
        assert took < 1 and response["Retry-After"] == "1"
        assert response.json()["status"] == "queued"
        changer = later(0, lambda: services.study_fail(study_id=study.pk, reason="gone"))
        assert all(wait.result()[0].json()["status"] == "failed" for wait in waits)
        changer.join()
    settings.CHEXWEB_STATUS_WAIT_S = 1
    response, took = timed(clients[2], status_url(study, after="failed"))  # slots given back
    assert 1 <= took and "Retry-After" not in response


def test_without_redis_it_answers_at_once_and_the_page_polls(as_clinician, clinician, settings):
    study = study_stored(uploaded_by=clinician, status="queued")
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response, took = timed(as_clinician, status_url(study, after="queued"))
    assert took < 3 and response["Retry-After"] == "1"
    assert response.json()["status"] == "queued"
