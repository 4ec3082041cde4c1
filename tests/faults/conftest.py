"""The whole product with faults put into it: Redis, the model server, a Celery worker, celery
beat and the web server, each started with its Procfile command on a fixed loopback port so it
can be stopped, killed and started again where the others expect it.

Retry waits and time limits are short here (seconds, not minutes) through the same environment
variables production sets; the processes read them at start. The sweeper runs with the
production deadlines, which the recovery tests hold to their promise (docs/reliability.md).
"""

import io
import re
import shutil
import signal
import sqlite3
import time
import uuid
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
import requests
from PIL import Image

from tests.processes import (
    Process,
    answers_http,
    free_port,
    procfile_command,
    run_checked,
    wait_until,
)
from tests.shared import SAMPLES

# What the worker and beat processes read (chexweb/settings.py). The sweeper keeps its production
# deadlines: a sweep every 5 s; a study processing without a heartbeat for 30 s is queued again,
# a queued one whose message the broker lost is sent again after 15 s.
FAULT_SETTINGS = {
    "CHEXWEB_DIAGNOSIS_MAX_RETRIES": "8",
    "CHEXWEB_DIAGNOSIS_RETRY_BACKOFF_MAX_S": "8",
    "CHEXWEB_TASK_SOFT_TIME_LIMIT_S": "15",
    "CHEXWEB_TASK_TIME_LIMIT_S": "20",
    "GRAPHPIPE_READ_TIMEOUT_S": "10",
}
RECOVERY_PROMISE_S = 60  # from a fault to every study of a burst done (docs/reliability.md)
USERNAME = "clinician"
PASSWORD = "fault-tolerant-4-ever"
SAMPLE = SAMPLES / "nih_00000075_000.png"


class FaultStack:
    """The product's processes on a fresh SQLite database; `graphpipe_url` given: no model
    server of ours, that URL answers instead."""

    def __init__(self, var_dir: Path, database: Path, onnx: Path, graphpipe_url: str = "",
                 settings: dict[str, str] | None = None):
        shutil.copy(database, var_dir / "chexweb.sqlite3")
        self.database = var_dir / "chexweb.sqlite3"
        self.redis_port = free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.model_listen = f"127.0.0.1:{free_port()}"
        self.base_url = f"http://127.0.0.1:{free_port()}"
        self.graphpipe_url = graphpipe_url or f"http://{self.model_listen}"
        self.env = {
            **FAULT_SETTINGS,
            "CHEXWEB_VAR_DIR": str(var_dir),
            "DATABASE_URL": "",  # SQLite in CHEXWEB_VAR_DIR
            "REDIS_URL": self.redis_url,
            "GRAPHPIPE_URL": self.graphpipe_url,
            "GRAPHPIPE_LISTEN": self.model_listen,
            "CHEXWEB_LISTEN": self.base_url.removeprefix("http://"),
            "CHEXNET_ONNX": str(onnx),
            **(settings or {}),
        }
        self.processes: dict[str, Process] = {}
        self.session: requests.Session | None = None

    # --- processes ---------------------------------------------------------------------------

    def start(self, name: str) -> None:
        if name == "redis":
            process = Process("redis", [shutil.which("redis-server"), "--port",
                                        str(self.redis_port), "--bind", "127.0.0.1", "--save",
                                        "", "--appendonly", "no"], env={})
            self.processes[name] = process
            wait_until(lambda: self.redis().ping(), timeout=20, what="redis-server",
                       process=process)
            return
        process = Process(name, procfile_command(name), env=self.env)
        self.processes[name] = process
        if name == "model":
            wait_until(answers_http(f"{self.graphpipe_url}/control/is_ready"), timeout=90,
                       what="GraphPipe server", process=process)
        elif name == "web":
            # Not /healthz: that one also asks Redis and the model server, which may be down.
            wait_until(answers_http(f"{self.base_url}/accounts/login/"), timeout=60,
                       what="web server", process=process)
        elif name == "worker":
            wait_until(lambda: "ready." in process.log(), timeout=60, what="Celery worker",
                       process=process)

    def stop(self, name: str) -> None:
        self.processes.pop(name).stop()

    def kill(self, name: str) -> None:
        """SIGKILL to the whole process group: no clean-up, no acknowledgement, nothing."""
        process = self.processes.pop(name)
        process.signal(signal.SIGKILL)
        process.stop()

    def stop_all(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)
        if self.session is not None:
            self.session.close()

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, socket_connect_timeout=2)

    def log(self, name: str) -> str:
        return self.processes[name].log()

    # --- the clinician's side ----------------------------------------------------------------

    def upload(self, images: list[bytes]) -> list[str]:
        """Each image through the upload form, as the page's script sends it: the study ids."""
        if self.session is None:
            self.session = logged_in_session(self.base_url)
        token = self.session.cookies["csrftoken"]
        ids = []
        for number, image in enumerate(images):
            response = self.session.post(
                f"{self.base_url}/studies/new/",
                files={"image": (f"burst-{number}.png", image, "image/png")},
                headers={"Accept": "application/json", "X-CSRFToken": token},
                timeout=60,
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        return ids

    def rerun(self, study_id: str) -> None:
        response = self.session.post(
            f"{self.base_url}/studies/{study_id}/rerun/",
            headers={"X-CSRFToken": self.session.cookies["csrftoken"]},
            timeout=30, allow_redirects=False,
        )
        assert response.status_code == 302, response.text

    def status_json(self, study_id: str) -> dict:
        response = self.session.get(f"{self.base_url}/studies/{study_id}/status/", timeout=30)
        response.raise_for_status()
        return response.json()

    # --- the database, the truth -------------------------------------------------------------

    def studies(self, ids: list[str]) -> dict[str, tuple[str, str]]:
        """Status and failure reason of each study, read from the stack's SQLite file."""
        wanted = {uuid.UUID(study_id).hex: study_id for study_id in ids}
        with closing(sqlite3.connect(self.database, timeout=30)) as db:
            rows = db.execute("SELECT id, status, failure_reason FROM diagnoses_study").fetchall()
        return {wanted[row[0]]: (row[1], row[2]) for row in rows if row[0] in wanted}

    def processing_for(self, ids: list[str]) -> list[float]:
        """Seconds since each study now processing was claimed."""
        wanted = {uuid.UUID(study_id).hex for study_id in ids}
        with closing(sqlite3.connect(self.database, timeout=30)) as db:
            rows = db.execute("SELECT id, started_at FROM diagnoses_study "
                              "WHERE status = 'processing'").fetchall()
        now = datetime.now(UTC)
        return [(now - datetime.fromisoformat(started).replace(tzinfo=UTC)).total_seconds()
                for study_id, started in rows if study_id in wanted]

    def predictions(self, ids: list[str]) -> Counter:
        """How many predictions each study has."""
        wanted = {uuid.UUID(study_id).hex: study_id for study_id in ids}
        with closing(sqlite3.connect(self.database, timeout=30)) as db:
            rows = db.execute("SELECT study_id FROM diagnoses_prediction").fetchall()
        return Counter(wanted[row[0]] for row in rows if row[0] in wanted)

    def assert_all_done_once(self, ids: list[str], count: int) -> None:
        """All COUNT studies done, each with exactly one prediction: none lost, none run twice."""
        studies = self.studies(ids)
        assert {status for status, _ in studies.values()} == {"done"}, studies
        predictions = self.predictions(ids)
        assert len(predictions) == count and set(predictions.values()) == {1}, predictions

    def status_counts(self, ids: list[str]) -> Counter:
        return Counter(status for status, _ in self.studies(ids).values())

    def wait_finished(self, ids: list[str], *, timeout: float) -> float:
        """Seconds until every study is done or failed; fails the test after `timeout`."""
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            counts = self.status_counts(ids)
            if counts["done"] + counts["failed"] == len(ids):
                return time.monotonic() - started
            time.sleep(0.5)
        pytest.fail(f"not finished after {timeout:.0f} s: {dict(self.status_counts(ids))}; "
                    f"logs in {[str(p.log_path) for p in self.processes.values()]}")


def sweeps(worker_log: str) -> Counter:
    """What the sweeper did, summed over a worker's log: resent, requeued, failed."""
    done = Counter()
    for resent, requeued, failed in re.findall(
            r"sweeper: (\d+) queued studies sent again, (\d+) processing studies queued again, "
            r"(\d+) failed", worker_log):
        done.update(resent=int(resent), requeued=int(requeued), failed=int(failed))
    return done


def redeliveries(worker_log: str) -> int:
    """Deliveries that found their study already claimed or finished, and did nothing."""
    return worker_log.count("is not queued; nothing to do")


def logged_in_session(base_url: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base_url}/accounts/login/", timeout=30).raise_for_status()
    response = session.post(
        f"{base_url}/accounts/login/",
        data={"username": USERNAME, "password": PASSWORD,
              "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        timeout=30, allow_redirects=False,
    )
    assert response.status_code == 302, response.text
    session.get(f"{base_url}/studies/new/", timeout=30).raise_for_status()  # fresh CSRF cookie
    return session


def distinct_xrays(count: int) -> list[bytes]:
    """`count` PNG chest X-rays that differ in a few pixels: uploads refuse duplicate files."""
    with Image.open(SAMPLE) as sample:
        base = sample.convert("L").resize((320, 320))
    salt = uuid.uuid4().int
    images = []
    for number in range(count):
        image = base.copy()
        for offset in range(4):
            image.putpixel((offset, 0), (salt >> (8 * offset) & 0xFF) ^ (number >> offset))
        image.putpixel((0, 1), number % 256)
        image.putpixel((1, 1), number // 256)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        images.append(buffer.getvalue())
    assert len(set(images)) == count
    return images


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory) -> Path:
    """A migrated SQLite database with the clinician's login, copied for each stack."""
    if shutil.which("redis-server") is None:
        pytest.skip("the fault tests restart their own redis-server, and none is installed")
    var_dir = tmp_path_factory.mktemp("fault-template")
    env = {"CHEXWEB_VAR_DIR": str(var_dir), "DATABASE_URL": "", **FAULT_SETTINGS}
    run_checked(["python", "manage.py", "migrate", "--noinput"], env=env)
    run_checked(["python", "manage.py", "ensure_demo_user", "--username", USERNAME,
                 f"--password={PASSWORD}"], env=env)
    return var_dir / "chexweb.sqlite3"


@pytest.fixture
def fault_stack(tmp_path, migrated_database, chexnet_onnx):
    """Redis, the model server, a worker, beat and the web server: started, stopped after."""
    stack = FaultStack(tmp_path, migrated_database, chexnet_onnx)
    try:
        for name in ("redis", "model", "worker", "beat", "web"):
            stack.start(name)
        yield stack
    finally:
        stack.stop_all()
