"""Fault 3: Redis restarts empty while studies wait in it; the sweeper finds them again."""

import pytest

from tests.faults.conftest import distinct_xrays, redeliveries, sweeps

pytestmark = pytest.mark.system
QUEUED = 20


def test_the_sweeper_recovers_every_study_lost_with_redis(fault_stack):
    fault_stack.stop("worker")
    ids = fault_stack.upload(distinct_xrays(QUEUED))
    assert fault_stack.redis().llen("celery") == QUEUED  # the work is in the broker only

    fault_stack.stop("redis")
    fault_stack.start("redis")  # same port, empty: no snapshot, no append-only file
    assert fault_stack.redis().llen("celery") == 0
    fault_stack.start("worker")
    took = fault_stack.wait_finished(ids, timeout=180)

    fault_stack.assert_all_done_once(ids, QUEUED)
    worker_log = fault_stack.log("worker")
    assert sweeps(worker_log)["resent"] >= QUEUED  # each one found by the sweeper
    print(f"\nFIGURES fault=redis-restarted-empty studies={QUEUED} "
          f"recovered_after_restart_s={took:.1f} sweeper={dict(sweeps(worker_log))} "
          f"no_op_deliveries={redeliveries(worker_log)} lost=0")
