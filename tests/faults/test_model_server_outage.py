"""Fault 1: the GraphPipe server stops for 20 s in the middle of a burst of 50 uploads."""

import time

import pytest

from tests.faults.conftest import distinct_xrays, redeliveries, sweeps

pytestmark = pytest.mark.system
BURST = 50
OUTAGE_S = 20


def test_a_burst_survives_the_model_server_stopping_for_20_s(fault_stack):
    images = distinct_xrays(BURST)
    ids = fault_stack.upload(images[:10])

    fault_stack.stop("model")
    stopped = time.monotonic()
    ids += fault_stack.upload(images[10:])
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
    fault_stack.start("model")  # same port
    back = time.monotonic() - stopped

    took = fault_stack.wait_finished(ids, timeout=240)

    fault_stack.assert_all_done_once(ids, BURST)
    worker_log = fault_stack.log("worker")
    retries = worker_log.count("retry: Retry in")
    assert retries > 0  # the outage was felt, and waited out
    assert fault_stack.status_json(ids[-1])["prediction"] is not None
    print(f"\nFIGURES fault=model-server-outage studies={BURST} outage_s={back:.1f} "
          f"finished_after_return_s={took:.1f} retries={retries} "
          f"sweeper={dict(sweeps(worker_log))} no_op_deliveries={redeliveries(worker_log)} "
          f"lost=0")
