"""The command-line client against a live ChexWeb (pytest-django's live server, this process),
with diagnoses run at once against the real GraphPipe test server."""

import threading

import pytest

from diagnoses import services
from diagnoses.api.tokens import api_token_create
from diagnoses.tasks import diagnose_study
from tests.api.conftest import api_settings  # noqa: F401  (throttle counts in Redis)


@pytest.fixture(autouse=True)
def private_storage(study_storage):
    """Each test's uploads in a folder of its own."""


@pytest.fixture
def eager_diagnoses(model_server, monkeypatch):
    """A queued study is diagnosed at once in this process, by the worker's task, without a
    broker (Celery's eager mode would still take a producer from the broker pool)."""
    monkeypatch.setattr(services, "_queue_diagnosis",
                        lambda study_id: diagnose_study.apply(args=[str(study_id)]))


@pytest.fixture
def chexweb(live_server, clinician, eager_diagnoses, monkeypatch, tmp_path):
    """CHEXWEB_URL and CHEXWEB_TOKEN of a clinician; no config file of the machine is read."""
    _, key = api_token_create(user=clinician, name="cli tests", days=1)
    monkeypatch.setenv("CHEXWEB_URL", live_server.url)
    monkeypatch.setenv("CHEXWEB_TOKEN", key)
    monkeypatch.delenv("CHEXWEB_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    yield live_server.url
    # The server closes a request (and its database connection) just after the client has the
    # answer: let it, before the test's database goes away.
    for thread in threading.enumerate():
        if thread.name.endswith("(process_request_thread)"):
            thread.join(timeout=10)
