"""Fixtures shared by the whole suite: shared material, the exported model, real servers, the
role users and the per-test storage of uploads."""

import hashlib
import shutil
from pathlib import Path

import pytest
import redis

from diagnoses.model_server import model_server_client
from tests import factories
from tests.processes import (
    REPO,
    Process,
    answers_http,
    free_port,
    procfile_command,
    run_checked,
    wait_until,
)
from tests.shared import (
    SAMPLE_PNGS,
    SAMPLES,
    STANDIN_CHECKPOINT,
    in_ci,
    shared_missing,
    skip_without,
)


def pytest_configure(config):
    if in_ci() and (missing := shared_missing()):
        raise pytest.UsageError(
            "CI=true and the shared material is missing: "
            + ", ".join(str(path) for path in missing)
            + " (put the shared folder beside the checkout, or set CHEXWEB_SHARED_DIR)")


@pytest.fixture(scope="session")
def standin_checkpoint() -> Path:
    skip_without(STANDIN_CHECKPOINT)
    return STANDIN_CHECKPOINT


@pytest.fixture(scope="session")
def sample_pngs() -> list[Path]:
    if not SAMPLE_PNGS:
        skip_without(SAMPLES / "*.png")
    return SAMPLE_PNGS


@pytest.fixture(scope="session")
def chexnet_onnx(standin_checkpoint) -> Path:
    """The stand-in exported with the same command `make run` uses, cached by checkpoint hash."""
    digest = hashlib.sha256(standin_checkpoint.read_bytes()).hexdigest()[:16]
    output = REPO / "build" / "test-models" / f"chexnet-standin-{digest}.onnx"
    if not output.exists():
        output.parent.mkdir(parents=True, exist_ok=True)
        run_checked(
            ["python", "-m", "inference.model.export", "--checkpoint", str(standin_checkpoint),
             "--output", str(output)],
            env={},
        )
    return output


def start_model_server(onnx: Path) -> tuple[Process, str]:
    listen = f"127.0.0.1:{free_port()}"
    server = Process("model", procfile_command("model"),
                     env={"CHEXNET_ONNX": str(onnx), "GRAPHPIPE_LISTEN": listen})
    url = f"http://{listen}"
    wait_until(answers_http(f"{url}/control/is_ready"), timeout=60, what="GraphPipe server",
               process=server)
    return server, url


@pytest.fixture(scope="session")
def graphpipe_url(chexnet_onnx) -> str:
    """A real GraphPipe model server serving the exported stand-in, started as `make run` does."""
    server, url = start_model_server(chexnet_onnx)
    yield url
    server.stop()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis of the suite's own on a free port (empty, no persistence) or REDIS_URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        import os

        url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        except redis.RedisError as error:
            pytest.fail(f"no redis-server binary and no Redis at {url}: {error}")
        yield url
        return
    port = free_port()
    server = Process("redis", [binary, "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no"], env={})
    url = f"redis://127.0.0.1:{port}/0"
    wait_until(lambda: redis.Redis.from_url(url).ping(), timeout=20, what="redis-server",
               process=server)
    yield url
    server.stop()


@pytest.fixture
def model_server(settings, graphpipe_url):
    """This process's GraphPipe client pointed at the suite's real model server."""
    settings.GRAPHPIPE_URL = graphpipe_url
    model_server_client.cache_clear()
    yield graphpipe_url
    model_server_client.cache_clear()


@pytest.fixture
def unreachable_model_server(settings):
    """This process's GraphPipe client pointed at a port nothing listens on."""
    settings.GRAPHPIPE_URL = f"http://127.0.0.1:{free_port()}"
    model_server_client.cache_clear()
    yield settings.GRAPHPIPE_URL
    model_server_client.cache_clear()


@pytest.fixture
def study_storage(settings, tmp_path) -> Path:
    """Uploads stored in this test's own folder (the Django test folders use it for every
    test, through an autouse fixture in their conftest)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": tmp_path / "media"}},
    }
    return tmp_path / "media"


# --- the role users, and a test client logged in as each ------------------------------------

@pytest.fixture
def clinician(db):
    return factories.user_create(username="dr.house", role="clinician")


@pytest.fixture
def reviewer(db):
    return factories.user_create(username="dr.cuddy", role="reviewer")


@pytest.fixture
def administrator(db):
    return factories.user_create(username="it.admin", role="admin")


@pytest.fixture
def outsider(db):
    """Logged in, but in no role."""
    return factories.user_create(username="visitor")


@pytest.fixture
def as_clinician(client, clinician):
    client.force_login(clinician)
    return client


@pytest.fixture
def as_reviewer(client, reviewer):
    client.force_login(reviewer)
    return client


@pytest.fixture
def as_administrator(client, administrator):
    client.force_login(administrator)
    return client


@pytest.fixture
def throttle_counts(settings, redis_url) -> redis.Redis:
    """The API's request counts, in the suite's Redis, none counted yet."""
    from diagnoses.api.throttling import KEY_PREFIX

    settings.CHEXWEB_THROTTLE_REDIS_URL = redis_url
    counts = redis.Redis.from_url(redis_url)
    for key in counts.scan_iter(f"{KEY_PREFIX}:*"):
        counts.delete(key)
    yield counts
    counts.close()
