"""Fault 3: Redis loses the studies waiting in it (restarted empty, or flushed under a running
worker); the sweeper finds them again."""

import time

import pytest

from tests.faults.conftest import RECOVERY_PROMISE_S, distinct_xrays, redeliveries, sweeps

pytestmark = pytest.mark.system
QUEUED = 20
BURST = 30


def test_the_sweeper_recovers_every_study_lost_with_redis(fault_stack):
    fault_stack.stop("worker")
    ids = fault_stack.upload(distinct_xrays(QUEUED))
    assert fault_stack.redis().llen("celery") == QUEUED  # the work is in the broker only

    fault_stack.stop("redis")
    fault_stack.start("redis")  # same port, empty: no snapshot, no append-only file
    restarted = time.monotonic()
    assert fault_stack.redis().llen("celery") == 0
    fault_stack.start("worker")
    took = fault_stack.wait_finished(ids, timeout=120)
    since_restart = time.monotonic() - restarted

    fault_stack.assert_all_done_once(ids, QUEUED)
    worker_log = fault_stack.log("worker")
    assert sweeps(worker_log)["resent"] >= QUEUED  # each one found by the sweeper
    assert since_restart < RECOVERY_PROMISE_S
    print(f"\nFIGURES fault=redis-restarted-empty studies={QUEUED} "
          f"recovered_after_restart_s={since_restart:.1f} worker_started_to_done_s={took:.1f} "
          f"sweeper={dict(sweeps(worker_log))} no_op_deliveries={redeliveries(worker_log)} "
          f"lost=0")


def test_a_burst_flushed_out_of_redis_under_a_running_worker_is_done_within_a_minute(
        fault_stack):
    ids = fault_stack.upload(distinct_xrays(BURST))
    deadline = time.monotonic() + 120
    while fault_stack.status_counts(ids)["done"] < 5:
        assert time.monotonic() < deadline, fault_stack.status_counts(ids)
        time.sleep(0.05)

    fault_stack.redis().flushall()  # every waiting message, and the worker's held one, gone
    flushed = time.monotonic()
    lost = fault_stack.status_counts(ids)["queued"]
    fault_stack.wait_finished(ids, timeout=120)
    took = time.monotonic() - flushed

    fault_stack.assert_all_done_once(ids, BURST)
    worker_log = fault_stack.log("worker")
    assert lost and sweeps(worker_log)["resent"] >= lost - 1  # one may have been on its way
    assert took < RECOVERY_PROMISE_S
    print(f"\nFIGURES fault=redis-flushall studies={BURST} queued_when_flushed={lost} "
          f"recovered_after_flush_s={took:.1f} sweeper={dict(sweeps(worker_log))} "
          f"no_op_deliveries={redeliveries(worker_log)} lost=0")
