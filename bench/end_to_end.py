"""Benchmark (not a test): studies per second from API upload to stored prediction, against the
model server alone on the same machine, side by side in one run; and where an idle system's
upload-to-result time goes.

    .venv/bin/python -m bench.end_to_end [--studies 200] [--workers 1 2] [--latency 30]
                                         [--database-url postgres://...] [--model-cpus 1]
                                         [--json PATH]

Starts the product as `make run` does, each process with its Procfile command (tests/processes):
a redis-server of its own, the GraphPipe model server, celery beat, the web server (gunicorn) and
N Celery workers (the Procfile's worker, N times: what `docker compose up --scale worker=N` runs).

For each N in --workers, in one run against the same model server:
1. model server alone: the worker's request (the same preprocessed row, probs and cams) sent
   --studies times by N threads, one GraphPipeClient each, as N workers send it;
2. end to end: --studies distinct PNG chest X-rays (1024x1024, a sample with a few pixels changed:
   the upload refuses duplicates) uploaded one after another through the upload endpoint with
   `Accept: application/json`, as the page's script and a PACS bridge send them; throughput =
   studies / (last `finished_at` - first upload sent), read from the database.
Ratio = end to end / model server alone (target >= 0.85). Also the CPU milliseconds per study of
each process group over the burst (model server, web, workers, beat, Redis, this client), from
/proc/<pid>/stat: each process's own time and that of the children it reaped (the web's decoding
children). --model-cpus pins the model server to those CPUs and everything else (web, workers,
beat, Redis, this client) to the others, as when the model server has a machine of its own; by
default all share all CPUs. The web and worker processes keep their database connections
(CHEXWEB_DB_CONN_MAX_AGE=60, as docker-compose.yml).

Then --latency studies one at a time on the idle stack (N = 1): each uploaded, then waited for.
Per study: upload (the POST, client side), queue (`created_at` to a worker's `started_at`),
preprocessing and inference (the worker's own `Prediction.preprocessing_ms`/`inference_ms`;
inference split into the model server's own time, from its /metrics, and the rest: HTTP and
the GraphPipe encoding), and the rest of processing (claiming the study, reading the resized
copy kept at upload, storing the prediction and its 14 findings). p50 and p95.
"""

import argparse
import io
import json
import os
import platform
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import redis
import requests
from PIL import Image

REPO = Path(__file__).resolve().parents[1]

from inference.graphpipe.client import GraphPipeClient
from inference.imaging.preprocessing import preprocess
from tests.processes import (
    Process,
    answers_http,
    free_port,
    procfile_command,
    run_checked,
    wait_until,
)

SAMPLE = REPO.parent / "shared" / "samples" / "nih_00000075_000.png"
USERNAME = "bench"


def parse_cpus(text: str) -> list[int]:
    """taskset's CPU list: 1 or 0,2 or 2-3."""
    cpus = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        cpus.extend(range(int(first), int(last or first) + 1))
    return cpus


def default_onnx() -> Path | None:
    if os.environ.get("CHEXNET_ONNX"):
        return Path(os.environ["CHEXNET_ONNX"])
    found = sorted((REPO / "build" / "test-models").glob("*.onnx")) + sorted(
        (REPO / "models").glob("*.onnx"))
    return found[0] if found else None


def distinct_xrays(count: int) -> list[bytes]:
    """COUNT PNGs of the sample, each with a few pixels changed (distinct sha256)."""
    with Image.open(SAMPLE) as sample:
        base = sample.convert("L")
    salt = uuid.uuid4().int
    images = []
    for number in range(count):
        image = base.copy()
        for offset in range(4):
            image.putpixel((offset, 0), (salt >> (8 * offset) & 0xFF) ^ (number >> offset & 0xFF))
        image.putpixel((0, 1), number % 256)
        image.putpixel((1, 1), number // 256 % 256)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        images.append(buffer.getvalue())
    assert len(set(images)) == count
    return images


@dataclass
class BenchStack:
    """The product's processes on a fresh database; workers can be added and removed."""

    onnx: Path
    database_url: str = ""
    model_cpus: str = ""  # e.g. "1": the model server on CPU 1, everything else on the others
    model_env: dict = field(default_factory=dict)  # e.g. GP_MAX_WAIT_MS for the model server
    var_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="chexweb-bench-")))
    processes: dict[str, Process] = field(default_factory=dict)
    workers: list[Process] = field(default_factory=list)

    def __post_init__(self):
        self.redis_url = f"redis://127.0.0.1:{free_port()}/0"
        self.graphpipe_url = f"http://127.0.0.1:{free_port()}"
        self.base_url = f"http://127.0.0.1:{free_port()}"
        self.password = secrets.token_urlsafe(12)
        self.env = {
            "CHEXWEB_VAR_DIR": str(self.var_dir),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "GRAPHPIPE_URL": self.graphpipe_url,
            "GRAPHPIPE_LISTEN": self.graphpipe_url.removeprefix("http://"),
            "CHEXWEB_LISTEN": self.base_url.removeprefix("http://"),
            "CHEXNET_ONNX": str(self.onnx),
            "CHEXWEB_LOG_LEVEL": "WARNING",
            "CHEXWEB_DB_CONN_MAX_AGE": "60",  # as docker-compose.yml sets it
        }
        self.app_cpus = ""
        if self.model_cpus:
            model = set(parse_cpus(self.model_cpus))
            rest = sorted(os.sched_getaffinity(0) - model)
            if not rest or not model <= os.sched_getaffinity(0):
                raise ValueError(f"--model-cpus {self.model_cpus}: leave CPUs for the rest")
            self.app_cpus = ",".join(map(str, rest))
            os.sched_setaffinity(0, rest)  # this process (uploads, the baseline's client) too

    def pinned(self, command: str, model: bool = False) -> str:
        cpus = self.model_cpus if model else self.app_cpus
        return f"exec taskset -c {cpus} {command}" if cpus else command

    def start(self) -> "BenchStack":
        port = self.redis_url.rsplit(":", 1)[1].split("/")[0]
        self.processes["redis"] = Process("bench-redis", self.pinned(
            f"{shutil.which('redis-server')} --port {port} --bind 127.0.0.1 --save '' "
            "--appendonly no"), env={})
        wait_until(lambda: redis.Redis.from_url(self.redis_url).ping(), timeout=20,
                   what="redis-server", process=self.processes["redis"])
        self.processes["model"] = Process("bench-model", self.pinned(procfile_command("model"),
                                                                    model=True),
                                          env=self.env | self.model_env)
        run_checked([sys.executable, "manage.py", "migrate", "--noinput"], env=self.env)
        run_checked([sys.executable, "manage.py", "ensure_demo_user", "--username", USERNAME,
                     f"--password={self.password}"], env=self.env)
        wait_until(answers_http(f"{self.graphpipe_url}/control/is_ready"), timeout=120,
                   what="GraphPipe server", process=self.processes["model"])
        self.processes["beat"] = Process("bench-beat", self.pinned(procfile_command("beat")),
                                         env=self.env)
        self.processes["web"] = Process("bench-web", self.pinned(procfile_command("web")),
                                        env=self.env)
        wait_until(answers_http(f"{self.base_url}/healthz"), timeout=90, what="web server",
                   process=self.processes["web"])
        return self

    def scale_workers(self, count: int) -> None:
        while len(self.workers) > count:
            self.workers.pop().stop(timeout=60)
        while len(self.workers) < count:
            number = len(self.workers) + 1
            worker = Process(f"bench-worker{number}", self.pinned(
                f"{procfile_command('worker')} -n bench{number}@%h"), env=self.env)
            wait_until(lambda worker=worker: "ready." in worker.log(), timeout=90,
                       what="Celery worker", process=worker)
            self.workers.append(worker)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop(timeout=60)
        for process in reversed(list(self.processes.values())):
            process.stop(timeout=60)
        shutil.rmtree(self.var_dir, ignore_errors=True)

    def session(self) -> tuple[requests.Session, str]:
        session = requests.Session()
        session.get(f"{self.base_url}/accounts/login/", timeout=30).raise_for_status()
        response = session.post(f"{self.base_url}/accounts/login/", data={
            "username": USERNAME, "password": self.password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"]}, timeout=30,
            allow_redirects=False)
        assert response.status_code == 302, response.text
        session.get(f"{self.base_url}/studies/new/", timeout=30).raise_for_status()
        return session, session.cookies["csrftoken"]

    def all_pids(self) -> dict[str, list[int]]:
        """The pids of each process group (a Procfile line and what it forked)."""
        groups = {name: process.popen.pid for name, process in self.processes.items()}
        groups.update({f"worker{n}": w.popen.pid for n, w in enumerate(self.workers, start=1)})
        found = {name: [] for name in groups}
        by_session = {pid: name for name, pid in groups.items()}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            session_id = int(stat.rsplit(")", 1)[1].split()[3])
            if session_id in by_session:
                found[by_session[session_id]].append(int(entry.name))
        return found


def fresh_postgres_database(database_url: str) -> None:
    """DROP and CREATE the URL's database: each run starts empty."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")),
                         autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def cpu_seconds(stack: BenchStack) -> dict[str, float]:
    """CPU time (user + system) so far of each process group, and of this process. A process's
    own time and that of its children it has reaped (cutime, cstime): the web's decoding
    children (inference/imaging/isolation.py) live for one upload each, and their CPU counts
    as the web's."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for name, pids in stack.all_pids().items():
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        found["worker" if name.startswith("worker") else name] = (
            found.get("worker" if name.startswith("worker") else name, 0) + total / tick)
    times = os.times()
    found["this client"] = times.user + times.system
    return found


def upload(session: requests.Session, token: str, base_url: str, image: bytes,
           number: int) -> str:
    response = session.post(f"{base_url}/studies/new/",
                            files={"image": (f"bench-{number}.png", image, "image/png")},
                            headers={"Accept": "application/json", "X-CSRFToken": token},
                            timeout=120)
    assert response.status_code == 201, response.text
    return response.json()["id"]


# --- reading the stack's database from here --------------------------------------------------

def setup_django(stack: BenchStack) -> None:
    for key, value in stack.env.items():
        os.environ[key] = value
    os.environ["DJANGO_SETTINGS_MODULE"] = "chexweb.settings"
    import django

    django.setup()


def wait_done(ids: list[str], timeout: float) -> list:
    from django.db import close_old_connections

    from diagnoses.models import Study

    deadline = time.monotonic() + timeout
    pause = 0.05 if len(ids) == 1 else 0.5  # a cheap count: the times come from the rows
    while time.monotonic() < deadline:
        close_old_connections()
        finished = Study.objects.filter(pk__in=ids, status__in=["done", "failed"]).count()
        if finished == len(ids):
            studies = list(Study.objects.filter(pk__in=ids).prefetch_related("predictions"))
            failed = [study.failure_reason for study in studies if study.status != "done"]
            assert not failed, failed[:3]
            return studies
        time.sleep(pause)
    raise TimeoutError(f"studies not finished after {timeout:.0f} s")


# --- the measurements ------------------------------------------------------------------------

def model_server_alone(stack: "BenchStack", batch: np.ndarray, requests_count: int,
                       threads: int) -> tuple[float, float]:
    """Studies per second: the worker's request, REQUESTS_COUNT times from THREADS clients;
    and the model server's CPU milliseconds per request."""
    url = stack.graphpipe_url
    remaining = iter(range(requests_count))
    lock = threading.Lock()

    def run():
        with GraphPipeClient(url) as client:
            client.metadata()  # as a worker does once (then our server names its model)
            while True:
                with lock:
                    if next(remaining, None) is None:
                        return
                client.infer(batch, output_names=["probs", "cams"])

    with GraphPipeClient(url) as warm:
        for _ in range(3):
            warm.infer(batch, output_names=["probs", "cams"])
    cpu_before = cpu_seconds(stack)["model"]
    started = time.perf_counter()
    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    per_second = requests_count / (time.perf_counter() - started)
    return per_second, (cpu_seconds(stack)["model"] - cpu_before) * 1000 / requests_count


def end_to_end(stack: BenchStack, images: list[bytes]) -> dict:
    session, token = stack.session()
    # warm-up: a web worker, a Celery worker and the model server each did one study before
    wait_done([upload(session, token, stack.base_url, images[0], 0)], timeout=120)
    cpu_before = cpu_seconds(stack)
    began = datetime.now(timezone.utc)
    started = time.perf_counter()
    ids = [upload(session, token, stack.base_url, image, number)
           for number, image in enumerate(images[1:], start=1)]
    uploaded_s = time.perf_counter() - started
    studies = wait_done(ids, timeout=60 + 10 * len(ids))
    cpu_after = cpu_seconds(stack)
    last = max(study.finished_at for study in studies)
    seconds = (last - began).total_seconds()
    cpu_ms = {name: (cpu_after[name] - cpu_before.get(name, 0)) * 1000 / len(ids)
              for name in cpu_after}
    return {"studies": len(ids), "seconds": seconds, "per_second": len(ids) / seconds,
            "upload_seconds": uploaded_s, "cpu_ms_per_study": cpu_ms}


def server_infer_seconds(graphpipe_url: str) -> tuple[float, float]:
    """The model server's own count and seconds of answered infer requests (its /metrics)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"{graphpipe_url}/metrics", timeout=10).text
    count = total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("kind") == "infer":
                if sample.name == "graphpipe_request_duration_seconds_count":
                    count = sample.value
                elif sample.name == "graphpipe_request_duration_seconds_sum":
                    total = sample.value
    return count, total


def latency(stack: BenchStack, images: list[bytes]) -> dict[str, list[float]]:
    session, token = stack.session()
    stages = {name: [] for name in ("upload", "queue", "preprocessing", "inference: model server",
                                    "inference: HTTP + encoding",
                                    "claim, read resized copy, store result", "total")}
    for number, image in enumerate(images):
        time.sleep(0.5)  # idle: nothing else in flight
        before = server_infer_seconds(stack.graphpipe_url)
        sent = datetime.now(timezone.utc)
        started = time.perf_counter()
        study_id = upload(session, token, stack.base_url, image, 10_000 + number)
        upload_ms = (time.perf_counter() - started) * 1000
        (study,) = wait_done([study_id], timeout=120)
        after = server_infer_seconds(stack.graphpipe_url)
        (prediction,) = study.predictions.all()
        server_ms = (after[1] - before[1]) * 1000 if after[0] - before[0] == 1 else float("nan")
        processing_ms = (study.finished_at - study.started_at).total_seconds() * 1000
        if number == 0:
            continue  # warm-up
        stages["upload"].append(upload_ms)
        stages["queue"].append((study.started_at - study.created_at).total_seconds() * 1000)
        stages["preprocessing"].append(prediction.preprocessing_ms)
        stages["inference: model server"].append(server_ms)
        stages["inference: HTTP + encoding"].append(prediction.inference_ms - server_ms)
        stages["claim, read resized copy, store result"].append(
            processing_ms - prediction.preprocessing_ms - prediction.inference_ms)
        stages["total"].append((study.finished_at - sent).total_seconds() * 1000)
    return stages


def percentile(values: list[float], quantile: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(quantile * len(ordered) + 0.5) - 1))]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.end_to_end", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--latency", type=int, default=30, help="studies, 0: skip")
    parser.add_argument("--onnx", type=Path, default=default_onnx())
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    parser.add_argument("--model-cpus", default="",
                        help="taskset CPU list for the model server; the other processes (and "
                             "this one) get the remaining CPUs. Default: all share all")
    parser.add_argument("--model-env", nargs="*", default=[], metavar="NAME=VALUE",
                        help="environment of the model server only, e.g. GP_MAX_WAIT_MS=0")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.onnx is None or not args.onnx.exists():
        parser.error("no ONNX model: give --onnx (make model, or the tests' build/test-models)")
    if args.database_url.startswith(("postgres://", "postgresql://")):
        fresh_postgres_database(args.database_url)
    model_env = dict(setting.split("=", 1) for setting in args.model_env)
    stack = BenchStack(args.onnx, args.database_url, model_cpus=args.model_cpus,
                       model_env=model_env)
    print(f"start: load average {loadavg()}; {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, {platform.machine()}", flush=True)
    results: dict = {"load_start": loadavg(), "throughput": {}, "model_cpus": args.model_cpus,
                     "model_env": model_env,
                     "database": "PostgreSQL" if args.database_url.startswith("postgres")
                     else "SQLite"}
    try:
        stack.start()
        setup_django(stack)
        with Image.open(SAMPLE) as sample:
            batch = preprocess(sample.convert("RGB"), tencrop=False)
        images = distinct_xrays((1 + args.studies) * len(args.workers) + args.latency + 1)
        random.Random(1).shuffle(images)
        for workers in args.workers:
            stack.scale_workers(workers)
            alone, alone_cpu_ms = model_server_alone(stack, batch, args.studies, workers)
            chunk, images = images[:1 + args.studies], images[1 + args.studies:]
            whole = end_to_end(stack, chunk)
            ratio = whole["per_second"] / alone
            results["throughput"][workers] = {"model_server_alone": alone,
                                              "model_alone_cpu_ms": alone_cpu_ms, **whole,
                                              "ratio": ratio, "load": loadavg()}
            print(f"{workers} worker(s): model server alone {alone:.2f}/s, end to end "
                  f"{whole['per_second']:.2f}/s ({whole['studies']} studies in "
                  f"{whole['seconds']:.1f} s, uploads took {whole['upload_seconds']:.1f} s), "
                  f"ratio {ratio:.3f}; load {loadavg()}", flush=True)
            print("  CPU ms per study: model server alone "
                  f"{alone_cpu_ms:.0f}; end to end " + ", ".join(
                      f"{name} {ms:.0f}" for name, ms in whole["cpu_ms_per_study"].items()),
                  flush=True)
        if args.latency:
            stack.scale_workers(1)
            stages = latency(stack, images[:args.latency + 1])
            results["latency_ms"] = {name: {"p50": statistics.median(values),
                                            "p95": percentile(values, 0.95)}
                                     for name, values in stages.items()}
            print(f"latency over {args.latency} studies, one at a time (ms):")
            for name, figures in results["latency_ms"].items():
                print(f"| {name} | {figures['p50']:.0f} | {figures['p95']:.0f} |")
    finally:
        stack.stop()
    results["load_end"] = loadavg()
    print(f"end: load average {loadavg()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
