"""BatchingModel: concurrent requests share model runs, and each caller gets exactly its rows."""

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests

from inference.graphpipe import wire
from inference.server.batching import BatchingModel
from inference.server.runtime import OnnxModel
from tests.inference.conftest import (
    RecordingModel,
    expected_outputs,
    metric_line,
    start_server,
)


def rows(start: int, count: int = 1) -> dict[str, np.ndarray]:
    return {"x": np.arange(start * 2, (start + count) * 2, dtype=np.float32).reshape(count, 2)}


def submit_behind_a_held_run(pool, model, requests_: list[tuple[dict, list[str]]]):
    """The first request runs and is held there while the others queue; then all go on."""
    model.model.gate.clear()
    first = pool.submit(model.run, *requests_[0])
    assert model.model.entered.wait(10)
    futures = [first] + [pool.submit(model.run, feeds, names) for feeds, names in requests_[1:]]
    time.sleep(0.2)  # every other request queued
    model.model.gate.set()
    return futures


def run_concurrently(model, requests_: list[tuple[dict, list[str]]]):
    """The answers, in order, to requests queued behind a held first run."""
    with ThreadPoolExecutor(len(requests_)) as pool:
        return [future.result(10) for future in submit_behind_a_held_run(pool, model, requests_)]


@pytest.fixture
def batching():
    models = []

    def make(**options) -> BatchingModel:
        models.append(BatchingModel(RecordingModel(), **{"max_wait_s": 0.3, **options}))
        return models[-1]

    yield make
    for model in models:
        model.close()


def test_concurrent_requests_share_a_run_and_get_their_own_rows(batching):
    model = batching(max_batch=8)

    answers = run_concurrently(model, [(rows(i), ["double"]) for i in range(5)])

    for i, [double] in enumerate(answers):
        np.testing.assert_array_equal(double, rows(i)["x"] * 2)
    assert model.model.runs == [1, 4]  # the first ran at once; the four queued behind it shared


def test_a_run_takes_at_most_max_batch_rows(batching):
    model = batching(max_batch=3)

    answers = run_concurrently(model, [(rows(i), ["double"]) for i in range(7)])

    assert [answer[0][0, 0] for answer in answers] == [4 * i for i in range(7)]
    assert model.model.runs == [1, 3, 3]


def test_requests_asking_for_other_outputs_do_not_share_a_run(batching):
    model = batching(max_batch=8)

    answers = run_concurrently(model, [(rows(0), ["double"]), (rows(1), ["double"]),
                                       (rows(2), ["total"]), (rows(3), ["double", "total"]),
                                       (rows(4), ["total"])])

    np.testing.assert_array_equal(answers[2][0], [4 + 5])
    np.testing.assert_array_equal(answers[4][0], [8 + 9])
    assert sorted(model.model.runs) == [1, 1, 1, 2]


def test_a_request_of_max_batch_rows_or_more_runs_on_its_own(batching):
    model = batching(max_batch=4)

    answers = run_concurrently(model, [(rows(0), ["double"]), (rows(1, 6), ["double"]),
                                       (rows(7), ["double"])])

    np.testing.assert_array_equal(answers[1][0], rows(1, 6)["x"] * 2)
    assert model.model.runs == [1, 6, 1]


def test_max_batch_one_never_shares(batching):
    model = batching(max_batch=1)
    run_concurrently(model, [(rows(i), ["double"]) for i in range(4)])
    assert model.model.runs == [1, 1, 1, 1]


def test_a_lone_caller_does_not_wait(batching):
    model = batching(max_batch=8, max_wait_s=2.0, expected_callers=lambda: 1)

    started = time.perf_counter()
    model.run(rows(0), ["double"])

    assert time.perf_counter() - started < 0.5


def test_a_full_batch_runs_without_waiting_out_the_window(batching):
    model = batching(max_batch=3, max_wait_s=5.0)  # no caller count: only a full batch stops it

    started = time.perf_counter()
    with ThreadPoolExecutor(3) as pool:
        answers = [future.result(10) for future in
                   [pool.submit(model.run, rows(i), ["double"]) for i in range(3)]]

    assert time.perf_counter() - started < 2.0
    assert model.model.runs == [3]
    for i, [double] in enumerate(answers):
        np.testing.assert_array_equal(double, rows(i)["x"] * 2)


def test_a_lone_caller_runs_on_its_own_thread(batching):
    model = batching(max_batch=8, expected_callers=lambda: 1)
    threads = []
    original = model.model.run
    model.model.run = lambda *args: threads.append(threading.current_thread()) or original(*args)

    [double, total] = model.run_here(rows(0), ["double", "total"])

    assert threads == [threading.current_thread()]
    np.testing.assert_array_equal(double, rows(0)["x"] * 2)
    np.testing.assert_array_equal(total, [1])
    assert model.model.runs == [1]


@pytest.mark.parametrize("callers", [None, 2])
def test_with_company_or_no_caller_count_run_here_declines(batching, callers):
    model = batching(max_batch=8, expected_callers=None if callers is None else lambda: callers)
    assert model.run_here(rows(0), ["double"]) is None
    assert model.model.runs == []


def test_run_here_declines_while_a_run_is_in_progress_or_queued(batching):
    model = batching(max_batch=1, expected_callers=lambda: 1)
    model.model.gate.clear()
    with ThreadPoolExecutor(2) as pool:
        running = pool.submit(model.run, rows(0), ["double"])
        assert model.model.entered.wait(10)
        queued = pool.submit(model.run, rows(1), ["double"])
        declined = model.run_here(rows(2), ["double"])
        model.model.gate.set()
        running.result(10), queued.result(10)
    assert declined is None
    assert model.model.runs == [1, 1]


def test_queued_requests_wait_for_a_run_here_to_finish(batching):
    model = batching(max_batch=8, max_wait_s=0.0, expected_callers=lambda: 1)
    model.model.gate.clear()
    with ThreadPoolExecutor(1) as pool:
        here = pool.submit(model.run_here, rows(0), ["double"])
        assert model.model.entered.wait(10)
        queued = model.submit(rows(1), ["double"])
        time.sleep(0.2)
        assert not queued.done()  # one model run at a time
        model.model.gate.set()
        [double] = queued.result(10)
        assert here.result(10) is not None
    np.testing.assert_array_equal(double, rows(1)["x"] * 2)
    assert model.model.runs == [1, 1]


def test_without_a_caller_count_a_request_waits_for_company(batching):
    model = batching(max_batch=8, max_wait_s=0.3)

    started = time.perf_counter()
    model.run(rows(0), ["double"])

    assert time.perf_counter() - started >= 0.29


def test_a_failing_request_fails_alone(batching):
    model = batching(max_batch=8)
    bad = {"x": np.array([[np.nan, 1]], np.float32)}

    with ThreadPoolExecutor(4) as pool:
        futures = submit_behind_a_held_run(pool, model, [(feeds, ["double"]) for feeds in (
            rows(0), rows(1), bad, rows(2))])
        with pytest.raises(ValueError, match="a NaN row"):
            futures[2].result(10)
        good = [futures[i].result(10) for i in (0, 1, 3)]

    np.testing.assert_array_equal(good[2][0], rows(2)["x"] * 2)
    assert model.model.runs == [1, 3, 1, 1, 1]  # the shared run failed; each ran again alone


def test_close_finishes_the_queued_requests(batching):
    model = BatchingModel(RecordingModel(delay_s=0.05), max_batch=1)
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(model.run, rows(i), ["total"]) for i in range(3)]
        time.sleep(0.02)
        model.close()
        assert [future.result(10)[0][0] for future in futures] == [1, 5, 9]
    with pytest.raises(RuntimeError, match="shutting down"):
        model.run(rows(0), ["total"])


def test_a_model_without_a_batch_axis_is_never_shared(fragile_onnx):
    model = BatchingModel(OnnxModel(fragile_onnx), max_batch=8)
    assert not model.can_share_runs
    model.close()


def test_the_onnx_model_answers_each_row_of_a_shared_run(tiny_onnx):
    model = BatchingModel(OnnxModel(tiny_onnx), max_batch=8, max_wait_s=0.5)
    rng = np.random.default_rng(1)
    images = [rng.standard_normal((n, 3, 224, 224), dtype=np.float32) + i
              for i, n in enumerate([1, 2, 1, 3])]
    with ThreadPoolExecutor(len(images)) as pool:
        answers = list(pool.map(lambda x: model.run({"images": x}, ["cams", "probs"]), images))
    model.close()

    for batch, (cams, probs) in zip(images, answers, strict=True):
        expected_probs, expected_cams = expected_outputs(batch)
        np.testing.assert_allclose(probs, expected_probs, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(cams, expected_cams, rtol=1e-5, atol=1e-5)


def test_the_server_batches_concurrent_clients(tiny_onnx):
    server, url = start_server(tiny_onnx, "--max-batch", "8", "--max-wait-ms", "300")
    rng = np.random.default_rng(2)
    images = [rng.standard_normal((1, 3, 224, 224), dtype=np.float32) + i for i in range(8)]
    barrier = threading.Barrier(8)

    def ask(x):
        with requests.Session() as session:
            session.get(url + "/control/is_alive", timeout=10)  # connected before anyone asks
            barrier.wait(10)
            response = session.post(url, data=wire.encode_infer_request([x]), timeout=30)
            return wire.decode_infer_response(response.content)[0]

    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(ask, images))
        metrics = requests.get(url + "/metrics", timeout=10).text
    finally:
        server.stop()

    for x, probs in zip(images, answers, strict=True):
        np.testing.assert_allclose(probs, expected_outputs(x)[0], rtol=1e-5, atol=1e-6)
    runs = float(metric_line(metrics, "graphpipe_batch_rows_count"))
    assert float(metric_line(metrics, "graphpipe_batch_rows_sum")) == 8
    assert runs < 8


def test_a_lone_client_does_not_wait_beside_idle_connections(tiny_onnx, image_batch):
    server, url = start_server(tiny_onnx, "--max-batch", "8", "--max-wait-ms", "2000")
    host, port = url.removeprefix("http://").split(":")
    idle = [socket.create_connection((host, int(port)), timeout=10) for _ in range(3)]
    try:
        with requests.Session() as session:
            body = wire.encode_infer_request([image_batch[:1]])
            session.post(url, data=body, timeout=30)
            started = time.perf_counter()
            response = session.post(url, data=body, timeout=30)
            elapsed = time.perf_counter() - started
            count = int(session.get(url + "/control/client_count", timeout=10).text)
    finally:
        for sock in idle:
            sock.close()
        server.stop()
    assert response.status_code == 200
    assert count == 4
    assert elapsed < 1.0
