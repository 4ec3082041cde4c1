"""/control/shutdown and signals: stop taking model requests, finish those in flight, exit 0."""

import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests

from inference.graphpipe import wire
from inference.server.batching import BatchingModel
from inference.server.endpoint import ModelEndpoint
from inference.server.runtime import OnnxModel
from inference.server.http_server import GraphPipeServer
from tests.inference.conftest import expected_outputs, start_server
from tests.processes import wait_until


class HeldModel:
    """The tiny model, held at the start of each run until the test lets it go."""

    def __init__(self, model: OnnxModel):
        self.model, self.metadata = model, model.metadata
        self.entered, self.gate = threading.Event(), threading.Event()

    def run(self, feeds, output_names):
        self.entered.set()
        assert self.gate.wait(10)
        return self.model.run(feeds, output_names)


@pytest.fixture
def held_server(tiny_onnx):
    model = HeldModel(OnnxModel(tiny_onnx))
    server = GraphPipeServer(("127.0.0.1", 0), ModelEndpoint(model))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, model, f"http://127.0.0.1:{server.server_address[1]}"
    model.gate.set()
    server.shutdown()
    server.server_close()


def test_shutdown_finishes_the_request_in_flight_and_refuses_new_ones(held_server, image_batch):
    server, model, url = held_server
    body = wire.encode_infer_request([image_batch])
    with ThreadPoolExecutor(2) as pool:
        in_flight = pool.submit(requests.post, url, data=body, timeout=30)
        assert model.entered.wait(10)

        shutdown = requests.post(url + "/control/shutdown", timeout=10)
        assert server.shutdown_requested.wait(10)  # set once the answer is sent
        drained = pool.submit(server.drain, 10)
        assert not drained.done()  # waits for the request in flight
        assert server.draining.wait(10)
        refused = requests.post(url, data=body, timeout=10)
        not_ready = requests.get(url + "/control/is_ready", timeout=10)
        alive = requests.get(url + "/control/is_alive", timeout=10)

        model.gate.set()
        assert drained.result(10) is True
        finished = in_flight.result(10)

    assert (shutdown.status_code, shutdown.text) == (200, "shutting down")
    assert refused.status_code == 503 and "shutting down" in refused.text
    assert refused.headers["Connection"] == "close"
    assert not_ready.status_code == 503 and alive.status_code == 200
    assert finished.status_code == 200
    [probs] = wire.decode_infer_response(finished.content)
    np.testing.assert_allclose(probs, expected_outputs(image_batch)[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_shutdown_request_stops_the_process_cleanly(tiny_onnx, method):
    server, url = start_server(tiny_onnx)
    response = requests.request(method, url + "/control/shutdown", timeout=10)

    assert response.status_code == 200
    assert server.popen.wait(20) == 0
    assert "stopped" in server.log() and "Traceback" not in server.log()
    server.stop()


@pytest.mark.parametrize("clients", [1, 4])  # 1: a lone client, whose runs are on the event loop
def test_sigterm_lets_the_requests_in_flight_finish(tiny_onnx, clients):
    server, url = start_server(tiny_onnx, "--max-batch", "1")
    images = np.random.default_rng(6).standard_normal((1, 3, 224, 224), dtype=np.float32)
    body = wire.encode_infer_request([images])
    answers = []

    def keep_asking():
        with requests.Session() as session:
            while True:
                try:
                    response = session.post(url, data=body, timeout=10)
                except requests.ConnectionError:
                    return
                answers.append(response.status_code)
                if response.status_code != 200:
                    return

    with ThreadPoolExecutor(clients) as pool:
        for _ in range(clients):
            pool.submit(keep_asking)
        wait_until(lambda: len(answers) >= 8, timeout=30, what="eight answers")
        server.signal(signal.SIGTERM)
        assert server.popen.wait(20) == 0
    assert set(answers) <= {200, 503}
    assert "shutting down" in server.log() and "stopped" in server.log()
    server.stop()


def test_client_count_says_how_many_connections_are_open(server_url):
    with requests.Session() as first, requests.Session() as second:
        first.get(server_url + "/control/is_alive", timeout=10)
        second.get(server_url + "/control/is_alive", timeout=10)
        count = int(first.get(server_url + "/control/client_count", timeout=10).text)
    assert count >= 2


def test_an_unknown_control_path_is_a_404(server_url):
    response = requests.get(server_url + "/control/reboot", timeout=10)
    assert response.status_code == 404
    assert "/control/is_ready" in response.text


def test_a_lone_clients_run_on_the_event_loop_is_drained(tiny_onnx, image_batch):
    """What SIGTERM does (drain, from the main thread) while a lone client's run holds the loop."""
    model = HeldModel(OnnxModel(tiny_onnx))
    batching = BatchingModel(model, max_batch=1)
    server = GraphPipeServer(("127.0.0.1", 0), ModelEndpoint(batching))
    batching.expected_callers = server.active_clients
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    run_threads = []
    original = model.run
    model.run = lambda *args: run_threads.append(threading.current_thread().name) or original(*args)
    try:
        with ThreadPoolExecutor(2) as pool:
            in_flight = pool.submit(requests.post, url, data=wire.encode_infer_request([image_batch]),
                                    timeout=30)
            assert model.entered.wait(10)
            drained = pool.submit(server.drain, 10)
            assert server.draining.wait(10)
            assert not drained.done()  # waits for the run on the event loop
            model.gate.set()
            assert drained.result(10) is True
            finished = in_flight.result(10)
        refused = requests.post(url, data=wire.encode_infer_request([image_batch]), timeout=10)
    finally:
        model.gate.set()
        server.shutdown()
        server.server_close()
        batching.close()
    assert run_threads == ["http"]  # not the inference thread: no hand-over
    assert finished.status_code == 200
    [probs] = wire.decode_infer_response(finished.content)
    np.testing.assert_allclose(probs, expected_outputs(image_batch)[0], rtol=1e-5, atol=1e-6)
    assert refused.status_code == 503
