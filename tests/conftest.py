"""Fixtures shared by the whole suite: shared material, the exported model, real servers."""

import hashlib
import shutil
from pathlib import Path

import pytest
import redis

from tests.processes import (
    REPO,
    Process,
    answers_http,
    free_port,
    procfile_command,
    run_checked,
    wait_until,
)

SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "samples"
STANDIN_CHECKPOINT = SHARED / "models" / "chexnet-standin.pth.tar"
SAMPLE_PNGS = sorted(SAMPLES.glob("*.png"))


@pytest.fixture(scope="session")
def standin_checkpoint() -> Path:
    if not STANDIN_CHECKPOINT.exists():
        pytest.skip(f"stand-in checkpoint not found at {STANDIN_CHECKPOINT}")
    return STANDIN_CHECKPOINT


@pytest.fixture(scope="session")
def sample_pngs() -> list[Path]:
    if not SAMPLE_PNGS:
        pytest.skip(f"no sample PNGs in {SAMPLES}")
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
