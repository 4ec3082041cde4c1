"""`/healthz`: the database, Redis and every model server new studies go to; 503 when one is
down, and never a URL or password in the answer."""

import socket
import time

import pytest

from diagnoses.models import ModelVersion
from tests.factories import model_version_create
from tests.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def all_up(settings, graphpipe_url, redis_url):
    settings.GRAPHPIPE_URL = graphpipe_url
    settings.REDIS_URL = redis_url
    return settings


def checks(client) -> tuple[int, dict]:
    response = client.get("/healthz", HTTP_ACCEPT="application/json")
    return response.status_code, response.json()


def test_it_is_ok_when_everything_answers(client, all_up):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Cache-Control"].startswith("max-age=0")
    status, answer = checks(client)
    assert status == 200 and answer["status"] == "ok"
    assert list(answer["checks"]) == ["database", "redis", "model_server_1"]
    assert all(check["ok"] for check in answer["checks"].values())


def test_it_needs_no_login(client, all_up):
    assert client.get("/healthz").status_code == 200  # no redirect to the login page


def test_it_is_503_when_the_model_server_is_down(client, all_up):
    all_up.GRAPHPIPE_URL = f"http://127.0.0.1:{free_port()}"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.content.decode().splitlines() == [
        "database ok", "redis ok", "model_server_1 unavailable"]


def test_it_is_503_when_redis_is_down(client, all_up):
    all_up.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    status, answer = checks(client)
    assert status == 503 and answer["status"] == "unavailable"
    assert {name: check["ok"] for name, check in answer["checks"].items()} == {
        "database": True, "redis": False, "model_server_1": True}


def test_it_is_503_when_the_database_is_down(client, all_up, monkeypatch):
    from django.db import OperationalError, connection

    def refuse():
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    status, answer = checks(client)
    assert status == 503
    assert {name: check["ok"] for name, check in answer["checks"].items()} == {
        "database": False, "redis": True, "model_server_1": True}


def test_it_checks_each_of_several_model_servers(client, all_up, graphpipe_url):
    all_up.GRAPHPIPE_URL = f"{graphpipe_url},http://127.0.0.1:{free_port()}"
    status, answer = checks(client)
    assert status == 503
    assert answer["checks"]["model_server_1"]["ok"] is True
    assert answer["checks"]["model_server_2"]["ok"] is False


def test_it_checks_the_servers_of_the_active_model_version(client, all_up, graphpipe_url):
    model_version_create(identity="elsewhere", name="CheXNet elsewhere", state="active",
                         serving_url=f"http://127.0.0.1:{free_port()}")
    assert client.get("/healthz").status_code == 503  # GRAPHPIPE_URL answers, but is not used
    ModelVersion.objects.update(serving_url=graphpipe_url)
    assert client.get("/healthz").status_code == 200


def test_it_names_no_url_host_or_password(client, all_up):
    port = free_port()
    all_up.REDIS_URL = f"redis://:hunter2-secret@127.0.0.1:{port}/0"
    all_up.GRAPHPIPE_URL = f"http://model-user:s3cret-pw@127.0.0.1:{free_port()}"
    for accept in ("text/plain", "application/json"):
        body = client.get("/healthz", HTTP_ACCEPT=accept).content.decode()
        for secret in ("hunter2-secret", "s3cret-pw", "model-user", "127.0.0.1", str(port)):
            assert secret not in body


def test_a_server_that_never_answers_costs_a_short_timeout_not_a_hang(client, all_up):
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        host, port = silent.getsockname()
        all_up.GRAPHPIPE_URL = f"http://{host}:{port},http://{host}:{port}"
        all_up.REDIS_URL = f"redis://{host}:{port}/0"
        started = time.monotonic()
        status, answer = checks(client)
        elapsed = time.monotonic() - started
    assert status == 503
    assert answer["checks"]["model_server_2"]["ok"] is False
    assert elapsed < 4  # the three checks wait side by side, 2 s each at most
