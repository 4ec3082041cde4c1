"""Under `make run` (scripts/supervise.py: supervisord over the Procfile), a process killed with
SIGKILL is started again and the others keep running; Ctrl-C stops them all."""

import os
import signal
import sys
import time
from pathlib import Path

import pytest
import requests
from celery import Celery

from tests.faults.conftest import FaultStack
from tests.processes import Process, answers_http, wait_until

pytestmark = pytest.mark.system
BACK_WITHIN_S = 45  # from the kill to the process answering again (its start is most of it)
PROGRAMS = {"model": {"-m", "inference.server"}, "web": {"gunicorn"}, "beat": {"celery", "beat"},
            "worker": {"celery", "worker"}}  # words of each one's command line
NOT_IN = {"worker": {"shadow"}}  # the shadow worker's command line has the words above too


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:  # the thread or the process is gone
            pass
    return found


def descendants(pid: int) -> list[int]:
    found, todo = [], children(pid)
    while todo:
        child = todo.pop()
        found.append(child)
        todo += children(child)
    return found


def argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


class Supervised:
    """The product under the supervisor `make run` starts, on its own ports, Redis, database."""

    def __init__(self, stack: FaultStack, supervisor: Process):
        self.stack, self.supervisor = stack, supervisor
        self.celery = Celery(broker=stack.redis_url)

    def pid_of(self, name: str) -> int:
        """The pid of the Procfile process NAME (its main process: not the shell or honcho above
        it, nor the processes it forked)."""
        words = PROGRAMS[name]
        pids = [pid for pid in descendants(self.supervisor.popen.pid) if alive(pid)
                and words <= {word.rpartition("/")[2] for word in argv(pid)}
                and not NOT_IN.get(name, set()) & set(argv(pid))]
        mains = [pid for pid in pids if not any(pid in children(other) for other in pids)]
        assert len(mains) == 1, (name, mains)
        return mains[0]

    def worker_pid(self) -> int | None:
        """The (clinical) Celery worker's pid as it answers over the broker; None while none
        answers. The shadow worker answers too, as shadow@host."""
        pids = [stats["pid"] for host, stats in
                (self.celery.control.inspect(timeout=2).stats() or {}).items()
                if host.startswith("celery@")]
        assert len(pids) <= 1, pids
        return pids[0] if pids else None

    def web_healthy(self) -> bool:
        return answers_http(f"{self.stack.base_url}/healthz")()

    def model_ready(self) -> bool:
        return answers_http(f"{self.stack.graphpipe_url}/control/is_ready")()


@pytest.fixture(scope="module")
def supervised(tmp_path_factory, migrated_database, chexnet_onnx):
    stack = FaultStack(tmp_path_factory.mktemp("supervised"), migrated_database, chexnet_onnx)
    try:
        stack.start("redis")
        supervisor = Process("supervise", [sys.executable, "scripts/supervise.py", "Procfile"],
                             env=stack.env)
        stack.processes["supervise"] = supervisor
        product = Supervised(stack, supervisor)
        wait_until(product.web_healthy, timeout=90, what="the supervised product",
                   process=supervisor)
        wait_until(product.worker_pid, timeout=60, what="the supervised worker",
                   process=supervisor)
        yield product
    finally:
        stack.stop_all()


def wait_back(product: Supervised, check, what: str) -> float:
    killed_at = time.monotonic()
    wait_until(check, timeout=BACK_WITHIN_S, what=what, process=product.supervisor)
    return time.monotonic() - killed_at


def test_a_killed_worker_is_started_again_and_the_others_keep_running(supervised):
    worker = supervised.worker_pid()
    assert supervised.pid_of("worker") == worker
    others = {name: supervised.pid_of(name) for name in ("model", "web", "beat")}
    pool = descendants(worker)  # its forked child, which the kill leaves without a parent

    os.kill(worker, signal.SIGKILL)
    took = wait_back(supervised, lambda: supervised.worker_pid() not in (None, worker),
                     "a new worker answering over the broker")

    assert supervised.web_healthy() and supervised.model_ready()
    assert {name: supervised.pid_of(name) for name in others} == others
    assert not alive(worker)
    wait_until(lambda: not any(alive(pid) for pid in pool), timeout=10,
               what="the killed worker's pool process gone too")
    print(f"\nFIGURES fault=worker-sigkill-supervised back_after_s={took:.1f}")


def test_a_killed_model_server_is_started_again_and_the_others_keep_running(supervised):
    model = supervised.pid_of("model")
    others = {name: supervised.pid_of(name) for name in ("worker", "web", "beat")}

    os.kill(model, signal.SIGKILL)
    took = wait_back(supervised, lambda: supervised.model_ready() and supervised.web_healthy(),
                     "the model server ready and the web healthy again")

    assert supervised.pid_of("model") != model
    assert {name: supervised.pid_of(name) for name in others} == others
    print(f"\nFIGURES fault=model-sigkill-supervised back_after_s={took:.1f}")


def test_ctrl_c_stops_every_process(supervised):
    """Runs last in this module: it stops the product."""
    everything = descendants(supervised.supervisor.popen.pid)
    assert len(everything) >= 4
    supervised.supervisor.popen.send_signal(signal.SIGINT)  # what Ctrl-C sends supervisord
    assert supervised.supervisor.popen.wait(30) == 0
    assert [pid for pid in everything if alive(pid)] == []
    assert "Traceback" not in supervised.supervisor.log()
