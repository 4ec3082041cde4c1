"""Benchmark (not a test): how long after a fault every study of a burst is done.

    .venv/bin/python -m bench.recovery [--studies 100] [--runs 1] [--onnx PATH]
                                       [--write docs/reliability.md] [--json PATH]

Starts the product as the fault tests do (tests/faults/conftest.py: each process with its
Procfile command on loopback, a redis-server of its own, SQLite), but with the production
settings throughout: retries, time limits and the sweeper's deadlines as chexweb/settings.py
defaults them. Then, per run, three drills, each a burst of --studies distinct PNG chest X-rays
uploaded one after another through the upload form (in a thread) while the fault is put in:

- worker-sigkill: once --studies/5 are done and a study was just claimed, the worker's process
  group gets SIGKILL mid-study and is started again at once (what a supervisor does);
- redis-flushall: once --studies/5 are done, FLUSHALL: every waiting message and the one the
  worker holds are gone, the worker keeps running;
- model-server-restart: once --studies/5 are done, the model server is stopped (SIGTERM) and
  started again on the same port.

For every study not done at the fault (those uploaded after it included): seconds from the
fault to its `finished_at`, read from the database; p50, p95 and max over them (max: every study
done). Also: studies lost (not done after --timeout s) and doubled (more than one prediction),
and what the sweeper did. --write replaces the "Recovery drills" section of that file.
"""

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from bench.report import write_section
from tests.faults.conftest import (
    FAULT_SETTINGS,
    PASSWORD,
    USERNAME,
    FaultStack,
    distinct_xrays,
    redeliveries,
    sweeps,
)
from tests.processes import run_checked

DRILLS = ("worker-sigkill", "redis-flushall", "model-server-restart")
HEADING = "## Recovery drills"


class Drill:
    """One stack for all drills; the worker logs of every worker it started, for the sweeper's
    counts."""

    def __init__(self, stack: FaultStack):
        self.stack = stack
        self.worker_logs: list[Path] = []

    def start(self, name: str) -> None:
        self.stack.start(name)
        if name == "worker":
            self.worker_logs.append(self.stack.processes["worker"].log_path)

    def worker_log(self) -> str:
        return "".join(path.read_text(errors="replace") for path in self.worker_logs)

    def run(self, fault: str, studies: int, timeout: float) -> dict:
        images = distinct_xrays(studies)
        ids: list[str] = []  # filled as the uploads answer
        uploading = threading.Thread(target=self._upload, args=(images, ids))
        uploading.start()
        self._wait_for(lambda: self.stack.status_counts(list(ids))["done"] >= studies // 5,
                       what="a fifth done")
        log_before = self.worker_log()
        if fault == "worker-sigkill":  # mid-study: one claimed a moment ago
            self._wait_for(lambda: any(seconds < 0.1 for seconds in
                                       self.stack.processing_for(list(ids))),
                           what="a study just claimed", pause=0.02)
        fault_at = datetime.now(UTC).replace(tzinfo=None)  # the database's naive UTC
        down_s = self._put_in(fault)
        uploading.join()
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            counts = self.stack.status_counts(ids)
            if counts["done"] + counts["failed"] == len(ids):
                break
            time.sleep(0.5)
        finished = self._finished_at(ids)
        after = [(at - fault_at).total_seconds() for at in finished.values()
                 if at is not None and at > fault_at] or [0.0]
        predictions = self.stack.predictions(ids)
        log_after = self.worker_log()
        swept = sweeps(log_after)
        swept.subtract(sweeps(log_before))
        return {
            "fault": fault, "studies": len(ids), "after_fault": len(after),
            "p50_s": statistics.median(after), "p95_s": percentile(after, 0.95),
            "max_s": max(after), "fault_took_s": down_s,
            "lost": sum(at is None for at in finished.values()),
            "failed": self.stack.status_counts(ids)["failed"],
            "doubled": sum(count > 1 for count in predictions.values()),
            "sweeper": dict(swept),
            "no_op_deliveries": redeliveries(log_after) - redeliveries(log_before),
            "load": loadavg(),
        }

    def _upload(self, images: list[bytes], ids: list[str]) -> None:
        for image in images:  # one by one, so that the drill sees them as they come
            ids.extend(self.stack.upload([image]))

    def _put_in(self, fault: str) -> float:
        started = time.monotonic()
        if fault == "worker-sigkill":
            self.stack.kill("worker")
            self.start("worker")
        elif fault == "redis-flushall":
            self.stack.redis().flushall()
        elif fault == "model-server-restart":
            self.stack.stop("model")
            self.stack.start("model")
        else:
            raise ValueError(fault)
        return time.monotonic() - started

    def _finished_at(self, ids: list[str]) -> dict[str, datetime | None]:
        wanted = {uuid.UUID(study_id).hex for study_id in ids}
        with closing(sqlite3.connect(self.stack.database, timeout=30)) as db:
            rows = db.execute("SELECT id, status, finished_at FROM diagnoses_study").fetchall()
        return {study_id: datetime.fromisoformat(at) if status == "done" and at else None
                for study_id, status, at in rows if study_id in wanted}

    @staticmethod
    def _wait_for(check, *, what: str, timeout: float = 300, pause: float = 0.1) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not after {timeout} s")
            time.sleep(pause)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def default_onnx() -> Path | None:
    found = sorted((REPO / "build" / "test-models").glob("*.onnx")) + sorted(
        (REPO / "models").glob("*.onnx"))
    return found[0] if found else None


def migrated_database(var_dir: Path) -> Path:
    env = {"CHEXWEB_VAR_DIR": str(var_dir), "DATABASE_URL": ""}
    run_checked([sys.executable, "manage.py", "migrate", "--noinput"], env=env)
    run_checked([sys.executable, "manage.py", "ensure_demo_user", "--username", USERNAME,
                 f"--password={PASSWORD}"], env=env)
    return var_dir / "chexweb.sqlite3"


def production_settings() -> str:
    """The defaults the drills run with, as chexweb/settings.py has them."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chexweb.settings")
    from django.conf import settings

    return (f"retry waits up to {settings.DIAGNOSIS_RETRY_BACKOFF_MAX_S} s, time limits "
            f"{settings.CELERY_TASK_SOFT_TIME_LIMIT}/{settings.CELERY_TASK_TIME_LIMIT} s, a sweep "
            f"every {settings.CHEXWEB_STUCK_SWEEP_INTERVAL_S} s, a `processing` study without a "
            f"heartbeat for {settings.CHEXWEB_STUCK_PROCESSING_S} s queued again, a `queued` one "
            f"whose message the broker lost sent again after {settings.CHEXWEB_STUCK_QUEUED_S} s")


def report(results: dict) -> str:
    lines = [
        HEADING, "",
        f"`.venv/bin/python -m bench.recovery --studies {results['studies']} "
        f"--runs {results['runs']} --write docs/reliability.md`, "
        f"{results['date']}: {results['machine']}. Production settings ({results['settings']}); "
        "each burst uploaded through the form while the fault is put in, once a fifth "
        "of it is done. Seconds from the fault to each study done, over the studies not done "
        "at the fault (those uploaded after it included); max: every study done.", "",
        "| drill | run | studies | after the fault | p50 s | p95 s | max s | lost | doubled "
        "| sweeper | load (1/5/15 min) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for number, run in enumerate(results["drills"]):
        lines.append(
            f"| {run['fault']} | {number // len(DRILLS) + 1} | {run['studies']} "
            f"| {run['after_fault']} | {run['p50_s']:.1f} | {run['p95_s']:.1f} "
            f"| {run['max_s']:.1f} | {run['lost']} | {run['doubled']} "
            f"| {', '.join(f'{k} {v}' for k, v in run['sweeper'].items() if v) or 'nothing'} "
            f"| {run['load']} |")
    runs = results["drills"]
    lines += ["", f"Every study done within {max(run['max_s'] for run in runs):.0f} s of its fault "
              "(the promise: 60 s); lost "
              f"{sum(run['lost'] for run in runs)}, doubled {sum(run['doubled'] for run in runs)}"
              f", failed {sum(run['failed'] for run in runs)} of "
              f"{sum(run['studies'] for run in runs)}. {results['note']}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recovery", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=100)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds after the fault before a study counts as lost")
    parser.add_argument("--drills", nargs="+", choices=DRILLS, default=list(DRILLS))
    parser.add_argument("--onnx", type=Path, default=default_onnx())
    parser.add_argument("--write", type=Path, help="markdown file to put the section in")
    parser.add_argument("--note", default="The machine was shared: other test runs beside it.")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if shutil.which("redis-server") is None:
        parser.error("redis-server not found")
    if args.onnx is None or not args.onnx.exists():
        parser.error("no ONNX model: give --onnx (make model, or the tests' build/test-models)")
    results = {"studies": args.studies, "runs": args.runs, "drills": [], "note": args.note,
               "settings": production_settings(),
               "date": datetime.now(UTC).strftime("%Y-%m-%d"),
               "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, Python "
                          f"{platform.python_version()}, load average {loadavg()} at the start"}
    print(f"start: {results['machine']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="chexweb-recovery-") as temp:
        var_dir = Path(temp)
        template = migrated_database(var_dir / "template")
        stack = FaultStack(var_dir, template, args.onnx)
        for name in FAULT_SETTINGS:  # the production defaults instead of the tests' short ones
            stack.env.pop(name)
        drill = Drill(stack)
        try:
            for name in ("redis", "model", "worker", "beat", "web"):
                drill.start(name)
            for _ in range(args.runs):
                for fault in args.drills:
                    result = drill.run(fault, args.studies, args.timeout)
                    results["drills"].append(result)
                    print(json.dumps(result), flush=True)
        finally:
            stack.stop_all()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    section = report(results)
    print(section)
    if args.write:
        write_section(args.write, HEADING, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
