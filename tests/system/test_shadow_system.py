"""Shadow model versions in the running product: two real GraphPipe servers (the stand-in and a
copy of it with other metadata, so another model version), the real Celery worker and gunicorn.
Studies get both readings, the clinician's API shows only the active one, the admin's agreement
page shows the figures, promote switches; with the shadow server hanging (accepting, never
answering) or stopped, the active results still arrive at once: shadow readings have a worker of
their own (the Procfile's `shadow` process)."""

import re
import socket
import time

import pytest
import requests

from tests.conftest import start_model_server
from tests.processes import Process, answers_http, procfile_command, wait_until
from tests.diagnoses.test_shadow import shadow_onnx_copy
from tests.shared import SAMPLES
from tests.system.conftest import stack  # noqa: F401  (the module's running product)

pytestmark = pytest.mark.system
ADMIN_PASSWORD = "shadow-admin-pw-1"
XRAYS = ["nih_00000001_000.png", "nih_00000075_000.png", "nih_00000129_000.png"]


@pytest.fixture(scope="module")
def shadow_server(chexnet_onnx):
    server, url = start_model_server(shadow_onnx_copy(chexnet_onnx))
    yield server, url
    server.stop()


@pytest.fixture(scope="module")
def shadow_worker(stack):  # noqa: F811
    worker = Process("shadow", procfile_command("shadow"), env=stack.env)
    wait_until(lambda: "ready." in worker.log(), timeout=60, what="shadow worker", process=worker)
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def versions(stack, shadow_server):  # noqa: F811
    """The stand-in active at the stack's server, its copy in shadow; a clinician's token and an
    admin, made as an operator would (manage.py)."""
    _, shadow_url = shadow_server
    ids = stack.manage("shell", "-c", (
        "from django.contrib.auth.models import User\n"
        "from diagnoses import model_versions as m\n"
        "from diagnoses.roles import user_role_assign\n"
        f"a = m.model_version_register_from_server(serving_url='{stack.graphpipe_url}')\n"
        "m.model_version_activate(model_version=a, user=None)\n"
        f"s = m.model_version_register_from_server(serving_url='{shadow_url}')\n"
        "m.model_version_shadow(model_version=s, user=None)\n"
        "user_role_assign(user=User.objects.create_user('pacs-shadow'), role='clinician')\n"
        f"user_role_assign(user=User.objects.create_user('boss', password='{ADMIN_PASSWORD}'),"
        " role='admin')\n"
        "print(a.pk, s.pk)\n")).split()[-2:]
    key = stack.manage("api_token", "create", "pacs-shadow", "--name", "shadow test",
                       "--days", "1", "--quiet").strip()
    return int(ids[0]), int(ids[1]), key


@pytest.fixture(scope="module")
def api(versions) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {versions[2]}"
    return session


@pytest.fixture(scope="module")
def admin(stack) -> requests.Session:  # noqa: F811
    session = requests.Session()
    # A new connection each request: this session idles for tens of seconds between pages, and
    # a request sent on a kept-alive connection just as gunicorn closes it is reset (seen in CI).
    session.headers["Connection"] = "close"
    login = f"{stack.base_url}/admin/login/"
    form = session.get(login, timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    answer = session.post(login, data={"username": "boss", "password": ADMIN_PASSWORD,
                                       "csrfmiddlewaretoken": token, "next": "/admin/"},
                          headers={"Referer": login}, timeout=10)
    assert answer.ok and "Log out" in answer.text
    return session


def submit(stack, api, name: str) -> str:  # noqa: F811
    with open(SAMPLES / name, "rb") as image:
        answer = api.post(f"{stack.base_url}/api/v1/studies/", files={"file": (name, image)},
                          timeout=30)
    assert answer.status_code == 202, answer.text
    return answer.json()["url"]


def finished(api, url: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        study = api.get(url, timeout=10).json()
        if study["status"] in ("done", "failed", "not_eligible"):
            return study
        time.sleep(0.5)
    raise AssertionError(f"not finished in {timeout} s: {study['status']}")


def compared(stack, admin, shadow_id: int, count: int, timeout: float = 60) -> str:  # noqa: F811
    """The agreement page once it compares `count` studies."""
    url = f"{stack.base_url}/admin/diagnoses/modelversion/{shadow_id}/agreement/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = admin.get(url, timeout=10).text
        if f'id="studies-compared">{count}<' in page:
            return page
        time.sleep(0.5)
    raise AssertionError(f"the agreement page never compared {count} studies")


def test_shadow_readings_agreement_promotion_and_a_shadow_server_down(
        stack, shadow_server, shadow_worker, versions, api, admin, chexnet_onnx):  # noqa: F811
    active_id, shadow_id, _ = versions
    urls = [submit(stack, api, name) for name in XRAYS[:2]]
    for url in urls:
        study = finished(api, url)
        assert study["status"] == "done"
        assert [p["model_version"]["id"] for p in study["predictions"]] == [active_id]
        assert study["model_version"]["id"] == active_id

    page = compared(stack, admin, shadow_id, 2)
    assert page.count("0.0000") == 14  # the same weights: no difference in any finding
    assert 'id="disagreeing-count">0<' in page

    # The shadow server hangs (its address accepts, nothing answers), then is gone: the clinical
    # readings still arrive one after another, far within the 60 s a hung reading may take.
    server, shadow_url = shadow_server
    server.stop()
    hung = socket.create_server(("127.0.0.1", int(shadow_url.rsplit(":", 1)[1])), backlog=16)
    try:
        started = time.monotonic()
        for name in (XRAYS[2], XRAYS[1]):
            study = finished(api, submit(stack, api, name))
            assert study["status"] == "done" and len(study["predictions"]) == 1
        assert time.monotonic() - started < 30
    finally:
        hung.close()  # the shadow worker's waiting reading ends (connection reset)
    deadline = time.monotonic() + 90
    while "shadow reading of study" not in shadow_worker.log():
        assert time.monotonic() < deadline, "the shadow worker never tried the shadow server"
        time.sleep(0.5)
    assert "shadow reading" not in stack.processes["worker"].log()
    assert 'id="studies-compared">2<' in compared(stack, admin, shadow_id, 2)

    # Promote: the shadow version becomes the active one, the active one is retired.
    agreement = f"{stack.base_url}/admin/diagnoses/modelversion/{shadow_id}/agreement/"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"',
                      admin.get(agreement, timeout=10).text).group(1)
    admin.post(f"{stack.base_url}/admin/diagnoses/modelversion/{shadow_id}/activate/",
               data={"csrfmiddlewaretoken": token}, headers={"Referer": agreement}, timeout=10)
    models = {m["id"]: m["state"] for m in
              api.get(f"{stack.base_url}/api/v1/models/", timeout=10).json()}
    assert models == {active_id: "retired", shadow_id: "active"}

    # Its server back at its address: new studies are read by the promoted version.
    _, shadow_url = shadow_server
    restarted = Process("model", procfile_command("model"), env={
        "CHEXNET_ONNX": str(shadow_onnx_copy(chexnet_onnx)),
        "GRAPHPIPE_LISTEN": shadow_url.removeprefix("http://")})
    try:
        wait_until(answers_http(f"{shadow_url}/control/is_ready"), timeout=60,
                   what="the promoted version's server", process=restarted)
        study = finished(api, submit(stack, api, XRAYS[0]))
        assert [p["model_version"]["id"] for p in study["predictions"]] == [shadow_id]
    finally:
        restarted.stop()
