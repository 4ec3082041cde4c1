"""scripts/supervise.py (`make run`) on a Procfile of small shell processes: each line runs, one
killed is started again while the others keep running, Ctrl-C stops them all. The product's own
processes under it: tests/faults/test_supervised_processes.py."""

import os
import re
import signal
import sys
import time

import pytest

from tests.processes import REPO, Process, wait_until

# A line added to the Procfile (as the DICOM listener will be) is one more supervised process.
PROCFILE = """\
first: echo "pid $$"; exec sleep 300
second: echo "pid $$"; exec sleep 300
dicom-listener: echo "pid $$"; exec sleep 300
"""
NAMES = ("first", "second", "dicom-listener")


def started_pids(log: str) -> dict[str, list[int]]:
    """Each process's pids in the order they started, from the `name.1 | pid N` lines."""
    pids: dict[str, list[int]] = {}
    for name, pid in re.findall(r"^\S+ (\S+)\.1 +\| pid (\d+)$", log, re.MULTILINE):
        pids.setdefault(name, []).append(int(pid))
    return pids


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def supervisor(tmp_path):
    directory = tmp_path / "a 100% odd directory"  # quoted and escaped for supervisord
    directory.mkdir()
    (directory / "Procfile").write_text(PROCFILE)
    process = Process("supervise-shell", [sys.executable, str(REPO / "scripts" / "supervise.py"),
                                          str(directory / "Procfile")], env={})
    # Up for supervise.START_S: started, so a death now is a crash, not a failed start. Each
    # one's `pid N` line is relayed from its output, which may come after supervisord's line.
    try:
        wait_until(lambda: (process.log().count("entered RUNNING state") == len(NAMES)
                            and set(started_pids(process.log())) == set(NAMES)),
                   timeout=30, what="the three processes and their pid lines", process=process)
        yield process
    finally:  # a failed start too: its processes must not outlive the test
        process.stop()


def test_a_killed_process_is_started_again_and_the_others_keep_running(supervisor):
    before = {name: pids[-1] for name, pids in started_pids(supervisor.log()).items()}
    assert all(alive(pid) for pid in before.values())

    os.kill(before["second"], signal.SIGKILL)
    killed_at = time.monotonic()
    wait_until(lambda: len(started_pids(supervisor.log())["second"]) == 2, timeout=15,
               what="second started again", process=supervisor)
    took = time.monotonic() - killed_at

    after = {name: pids[-1] for name, pids in started_pids(supervisor.log()).items()}
    assert after["second"] != before["second"] and alive(after["second"])
    assert {name: after[name] for name in ("first", "dicom-listener")} == {
        name: before[name] for name in ("first", "dicom-listener")}
    assert all(alive(pid) for pid in after.values())
    assert re.search(r"WARN exited: second \(.*; not expected\)", supervisor.log())
    assert took < 10


def test_ctrl_c_stops_every_process_and_exits_cleanly(supervisor):
    pids = [pids[-1] for pids in started_pids(supervisor.log()).values()]
    supervisor.popen.send_signal(signal.SIGINT)
    assert supervisor.popen.wait(30) == 0
    assert [pid for pid in pids if alive(pid)] == []
    assert "Traceback" not in supervisor.log()


def test_every_relayed_line_is_written_whole(tmp_path):
    """Three processes writing at once, with PYTHONUNBUFFERED as the product's processes run: each
    line reaches the terminal whole, never with another process's line inside it."""
    lines = 2000
    (tmp_path / "Procfile").write_text("".join(
        f'{name}: for i in $(seq {lines}); do echo "line $i of {name}"; done; exec sleep 300\n'
        for name in NAMES))
    process = Process("supervise-lines", [sys.executable, str(REPO / "scripts" / "supervise.py"),
                                          str(tmp_path / "Procfile")],
                      env={"PYTHONUNBUFFERED": "1"})
    try:
        wait_until(lambda: process.log().count("entered RUNNING state") == len(NAMES), timeout=30,
                   what="the three processes", process=process)
        log = process.log()
    finally:
        process.stop()
    relayed = [line for line in log.splitlines() if " | " in line]
    whole = re.compile(r"^\d\d:\d\d:\d\d (\S+)\.1 +\| line \d+ of \1$"
                       r"|^\d\d:\d\d:\d\d system +\| \S+\.1 started \(pid=\d+\)$")
    assert [line for line in relayed if not whole.match(line)] == []
    assert len(relayed) == len(NAMES) * (lines + 1)
    assert [line for line in log.splitlines() if line.strip() == ""] == []


def test_a_procfile_without_processes_is_refused(tmp_path):
    (tmp_path / "Procfile").write_text("# nothing here\n")
    process = Process("supervise-empty", [sys.executable, str(REPO / "scripts" / "supervise.py"),
                                          str(tmp_path / "Procfile")], env={})
    assert process.popen.wait(20) != 0
    assert "no processes" in process.log()
    process.stop()
