"""The API against the whole product: gunicorn, a real Celery worker and the GraphPipe server.

A PACS bridge submits with an Idempotency-Key and a callback URL, polls until the worker is done,
fetches a heatmap and receives the signed callback; the command-line client does the same; and
schemathesis checks the live schema against the live server (loopback only, bounded)."""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from inference.findings import FINDINGS
from tests.api.conftest import CallbackReceiver
from tests.processes import REPO
from tests.shared import SAMPLES
from tests.system.conftest import stack, stack_settings  # noqa: F401  (the running product)

pytestmark = pytest.mark.system

SECRET = "system-test-callback-secret"
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,ignored_auth")
XRAY = SAMPLES / "nih512_00027426_000.png"


@pytest.fixture(scope="module", autouse=True)
def api_environment():
    """Set before `stack` starts its processes, which inherit this environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHEXWEB_CALLBACK_SECRET", SECRET)
        patch.setenv("CHEXWEB_CALLBACKS_ALLOW_PRIVATE", "1")  # the receiver is on 127.0.0.1
        patch.setenv("CHEXWEB_CALLBACK_BACKOFF_S", "1")
        patch.setenv("CHEXWEB_API_RATE_USER", "100000/minute")
        # Schemathesis sends hundreds of bad credentials and wants their 401 (tested at its
        # limit in test_throttling.py).
        patch.setenv("CHEXWEB_API_RATE_ANONYMOUS", "100000/minute")
        yield


@pytest.fixture(scope="module")
def key(stack) -> str:  # noqa: F811
    """A token of a user in the clinician role, made with `manage.py api_token`."""
    stack.manage("shell", "-c", (
        "from django.contrib.auth.models import Group, User; "
        "User.objects.create_user('pacs-bridge').groups.add(Group.objects.get(name='clinician'))"
    ))
    return stack.manage("api_token", "create", "pacs-bridge", "--name", "PACS bridge",
                        "--days", "1", "--quiet").strip()


@pytest.fixture(scope="module")
def api(key) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    return session


@pytest.fixture
def receiver():
    receiver = CallbackReceiver()
    yield receiver
    receiver.close()


def poll(api, url: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        study = api.get(url, timeout=10).json()
        if study["status"] in ("done", "failed"):
            return study
        time.sleep(0.5)
    raise AssertionError(f"{url} not finished after {timeout} s: {study}")


def wait_for(check, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_a_pacs_bridge_submits_polls_and_receives_the_signed_callback(stack, api, receiver):  # noqa: F811
    submission = {"patient_id": "PACS-1", "accession_number": "ACC-PACS-1",
                  "callback_url": receiver.url}
    headers = {"Idempotency-Key": "pacs-bridge-0001"}
    first = api.post(f"{stack.base_url}/api/v1/studies/", data=submission, headers=headers,
                     files={"file": XRAY.open("rb")}, timeout=30)
    assert first.status_code == 202, first.text
    retried = api.post(f"{stack.base_url}/api/v1/studies/", data=submission, headers=headers,
                       files={"file": XRAY.open("rb")}, timeout=30)
    assert retried.status_code == 202 and retried.json()["id"] == first.json()["id"]
    assert first.headers["Location"] == f"/api/v1/studies/{first.json()['id']}/"

    study = poll(api, first.json()["url"])
    assert study["status"] == "done", study
    [prediction] = study["predictions"]
    assert sorted(f["name"] for f in prediction["findings"]) == sorted(FINDINGS)
    assert "not medical predictions" in study["model_version"]["warning"]
    heatmap = api.get(prediction["findings"][0]["heatmap_url"], timeout=30)
    assert heatmap.status_code == 200 and heatmap.content.startswith(b"\x89PNG")
    assert requests.get(prediction["findings"][0]["heatmap_url"], timeout=10).status_code == 401

    wait_for(lambda: receiver.received)
    [callback] = receiver.received
    signed = callback["headers"]["X-ChexWeb-Timestamp"].encode() + b"." + callback["body"]
    signature = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert callback["headers"]["X-ChexWeb-Signature"] == f"sha256={signature}"
    payload = json.loads(callback["body"])
    assert payload["study"]["id"] == study["id"] and payload["study"]["status"] == "done"
    assert payload["study"]["flagged"] == study["flagged"]

    listed = api.get(f"{stack.base_url}/api/v1/studies/", params={"search": "PACS-"},
                     timeout=10).json()
    assert [s["id"] for s in listed["results"]] == [study["id"]]


def test_a_failing_receiver_gets_the_callback_again_with_backoff(stack, api, receiver):  # noqa: F811
    receiver.statuses = [503, 503]
    response = api.post(f"{stack.base_url}/api/v1/studies/", data={"callback_url": receiver.url},
                        files={"file": XRAY.open("rb")}, timeout=30)
    study = poll(api, response.json()["url"])
    wait_for(lambda: len(receiver.received) == 3, timeout=60)
    first, last = (json.loads(r["body"]) for r in (receiver.received[0], receiver.received[-1]))
    assert first == last and first["study"]["id"] == study["id"]


def test_the_command_line_client_submits_and_waits(stack, key):  # noqa: F811
    env = {**os.environ, "CHEXWEB_URL": stack.base_url, "CHEXWEB_TOKEN": key,
           "XDG_CONFIG_HOME": "/nonexistent"}
    env.pop("CHEXWEB_CONFIG", None)

    def chexweb(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "chexweb_cli", *args], cwd=REPO, env=env,
                              check=False,
                              capture_output=True, text=True, timeout=300)

    submitted = chexweb("submit", str(XRAY), str(SAMPLES / "nih_00000075_000.png"),
                        "--patient-id", "CLI-1", "--wait", "--interval", "0.5", "--json")
    assert submitted.returncode == 0, submitted.stderr
    studies = json.loads(submitted.stdout)
    assert [s["status"] for s in studies] == ["done", "done"]
    shown = chexweb("show", studies[0]["id"])
    assert shown.returncode == 0 and "Status     done" in shown.stdout
    listed = chexweb("list", "--patient-id", "CLI-1")
    assert listed.returncode == 0 and "2 of 2 studies" in listed.stdout


def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_schema(
        stack, key, tmp_path):  # noqa: F811
    """Bounded: a few examples per operation, one worker, a time budget, this stack only."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "schemathesis"), "run",
         f"{stack.base_url}/api/v1/schema/",
         "--url", stack.base_url, "-H", f"Authorization: Bearer {key}",
         "--max-examples", "3", "--max-time", "60", "--workers", "1",
         "--request-timeout", "30", "--seed", "20261124",
         "--checks", CHECKS],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
