"""Fault 2: the Celery worker is killed with SIGKILL in the middle of a burst."""

import time

import pytest

from tests.faults.conftest import RECOVERY_PROMISE_S, distinct_xrays, redeliveries, sweeps

pytestmark = pytest.mark.system
BURST = 50


def test_every_study_of_a_burst_finishes_once_after_the_worker_is_killed(fault_stack):
    ids = fault_stack.upload(distinct_xrays(BURST))
    deadline = time.monotonic() + 120
    while fault_stack.status_counts(ids)["done"] < 5 or not any(
            seconds < 0.1 for seconds in fault_stack.processing_for(ids)):  # just claimed
        assert time.monotonic() < deadline, fault_stack.status_counts(ids)
        time.sleep(0.02)

    fault_stack.kill("worker")  # SIGKILL, the whole process group, mid-study
    killed = time.monotonic()
    studies = fault_stack.studies(ids)
    done_before = sum(status == "done" for status, _ in studies.values())
    cut_off = [study for study, (status, _) in studies.items() if status == "processing"]
    fault_stack.start("worker")  # as the supervisor does
    took = fault_stack.wait_finished(ids, timeout=120)
    since_kill = time.monotonic() - killed

    fault_stack.assert_all_done_once(ids, BURST)
    worker_log = fault_stack.log("worker")
    assert cut_off and sweeps(worker_log)["requeued"] >= len(cut_off)  # its heartbeat stopped
    assert since_kill < RECOVERY_PROMISE_S
    print(f"\nFIGURES fault=worker-sigkill studies={BURST} done_before_kill={done_before} "
          f"cut_off_mid_study={len(cut_off)} finished_after_restart_s={took:.1f} "
          f"finished_after_kill_s={since_kill:.1f} sweeper={dict(sweeps(worker_log))} "
          f"no_op_deliveries={redeliveries(worker_log)} lost=0")
