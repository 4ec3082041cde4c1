"""The whole product running as `make run` runs it: model server, Celery worker, web server."""

import secrets
from dataclasses import dataclass

import pytest

from tests.browser import chromium
from tests.conftest import start_model_server
from tests.processes import (
    REPO,
    Process,
    answers_http,
    free_port,
    procfile_command,
    run_checked,
    wait_until,
)

ARTIFACTS = REPO / "test-artifacts"


@dataclass
class Stack:
    base_url: str
    graphpipe_url: str
    username: str
    password: str
    env: dict[str, str]
    processes: dict[str, Process]

    def manage(self, *args: str) -> str:
        return run_checked(["python", "manage.py", *args], env=self.env)


@pytest.fixture(scope="module")
def stack_settings() -> dict[str, str]:
    """Environment the stack's processes get on top of the suite's: a test module overrides this
    fixture to run the product under other settings."""
    return {}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, chexnet_onnx, redis_url, stack_settings) -> Stack:
    var_dir = tmp_path_factory.mktemp("var")
    web_listen = f"127.0.0.1:{free_port()}"
    model, graphpipe_url = start_model_server(chexnet_onnx)
    env = {
        "CHEXWEB_VAR_DIR": str(var_dir),
        "REDIS_URL": redis_url,
        "GRAPHPIPE_URL": graphpipe_url,
        "CHEXWEB_LISTEN": web_listen,
        "CHEXNET_ONNX": str(chexnet_onnx),
        "CHEXWEB_DIAGNOSIS_MAX_RETRIES": "3",
        **stack_settings,
    }
    env["DATABASE_URL"] = ""  # the stack has its own SQLite file, whatever the suite runs on
    password = secrets.token_urlsafe(12)
    run_checked(["python", "manage.py", "migrate", "--noinput"], env=env)
    run_checked(["python", "manage.py", "ensure_demo_user", "--username", "clinician",
                 f"--password={password}"], env=env)  # a token may begin with "-"
    processes = {
        "model": model,
        "worker": Process("worker", procfile_command("worker"), env=env),
        "web": Process("web", procfile_command("web"), env=env),
    }
    base_url = f"http://{web_listen}"
    wait_until(answers_http(f"{base_url}/healthz"), timeout=60, what="web server",
               process=processes["web"])
    stack = Stack(base_url, graphpipe_url, "clinician", password, env, processes)
    yield stack
    for process in processes.values():
        process.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def browser_after_database(transactional_db):
    """Chromium for a test of pytest-django's live server: started once the test database is set
    up, since Playwright's event loop in this thread keeps the serialized rollback from restoring
    the data the migrations made (the roles) when it runs first."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
