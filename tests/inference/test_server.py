"""The real GraphPipe server process: metadata, inference, and every bad request refused."""

import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests

from inference.graphpipe import wire
from inference.server.endpoint import ModelEndpoint
from inference.graphpipe.generated.Type import Type
from inference.server.runtime import OnnxModel
from inference.server.http_server import GraphPipeServer
from tests.inference.conftest import (
    MAX_BODY_BYTES,
    expected_outputs,
    raw_request,
    start_server,
)
from tests.processes import Process, answers_http, free_port, wait_until

OCTET_STREAM = "application/octet-stream"


@pytest.fixture
def session():
    with requests.Session() as session:
        yield session


def infer_body(image_batch, **names) -> bytes:
    return wire.encode_infer_request([image_batch], **names)


def post(session, url, body: bytes) -> requests.Response:
    return session.post(url, data=body, timeout=30)


def assert_good_request_works(session, url, image_batch):
    response = post(session, url, infer_body(image_batch, output_names=["probs"]))
    assert response.status_code == 200, response.text
    [probs] = wire.decode_infer_response(response.content)
    np.testing.assert_allclose(probs, expected_outputs(image_batch)[0], rtol=1e-5, atol=1e-6)


# --- metadata ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/any/path"])
def test_get_answers_the_metadata_as_json(session, server_url, tiny_onnx, path):
    response = session.get(server_url + path, timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    document = response.json()
    assert list(document) == ["Name", "Version", "Server", "Description", "Inputs", "Outputs"]
    assert document["Name"] == "tiny chexnet"
    assert document["Server"] == "chexweb-graphpipe"
    assert document["Inputs"] == [{"Name": "images", "Description": "",
                                   "Shape": [-1, 3, 224, 224], "Type": Type.Float32}]
    assert [(io["Name"], io["Shape"], io["Type"]) for io in document["Outputs"]] == [
        ("probs", [-1, 14], 10), ("cams", [-1, 14, 7, 7], 10)]
    description = json.loads(document["Description"])
    assert description["onnx_sha256"] == hashlib.sha256(tiny_onnx.read_bytes()).hexdigest()
    assert description["checkpoint_sha256"] == "0" * 64
    assert description["model_name"] == "tiny chexnet"


@pytest.mark.parametrize("path", ["/control/is_ready", "/control/is_alive"])
def test_control_paths_say_ok(session, server_url, path):
    response = session.get(server_url + path, timeout=10)
    assert (response.status_code, response.text) == (200, "ok")


def test_a_metadata_request_gets_the_same_metadata(session, server_url):
    response = post(session, server_url, wire.encode_metadata_request())

    assert response.status_code == 200
    assert response.headers["Content-Type"] == OCTET_STREAM
    metadata = wire.decode_metadata_response(response.content)
    assert metadata.to_json() == session.get(server_url, timeout=10).json()


# --- inference ---------------------------------------------------------------------------------

def test_a_request_without_output_names_gets_the_first_output(session, server_url, image_batch):
    response = post(session, server_url, infer_body(image_batch))

    assert response.status_code == 200
    assert response.headers["Content-Type"] == OCTET_STREAM
    [probs] = wire.decode_infer_response(response.content)
    np.testing.assert_allclose(probs, expected_outputs(image_batch)[0], rtol=1e-5, atol=1e-6)


def test_default_outputs_all_gives_every_output_in_model_order(tiny_onnx, image_batch, session):
    server, url = start_server(tiny_onnx, "--default-outputs", "all")
    try:
        response = post(session, url, infer_body(image_batch))
    finally:
        server.stop()

    probs, cams = wire.decode_infer_response(response.content)
    expected_probs, expected_cams = expected_outputs(image_batch)
    np.testing.assert_allclose(probs, expected_probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cams, expected_cams, rtol=1e-5, atol=1e-5)


def test_a_named_input_is_accepted(session, server_url, image_batch):
    response = post(session, server_url, infer_body(image_batch, input_names=["images"],
                                                    output_names=["probs", "cams"]))
    assert response.status_code == 200
    assert [o.shape for o in wire.decode_infer_response(response.content)] == [(3, 14),
                                                                               (3, 14, 7, 7)]


@pytest.mark.parametrize("output_names, shapes", [
    (["probs"], [(3, 14)]),
    (["cams"], [(3, 14, 7, 7)]),
    (["cams", "probs"], [(3, 14, 7, 7), (3, 14)]),
])
def test_outputs_come_as_named_and_in_that_order(session, server_url, image_batch, output_names,
                                                 shapes):
    response = post(session, server_url, infer_body(image_batch, output_names=output_names))
    outputs = wire.decode_infer_response(response.content)
    assert [output.shape for output in outputs] == shapes
    expected = dict(zip(["probs", "cams"], expected_outputs(image_batch), strict=True))
    for name, output in zip(output_names, outputs, strict=True):
        np.testing.assert_allclose(output, expected[name], rtol=1e-5, atol=1e-5)


def test_each_row_of_a_batch_gets_its_own_answer(session, server_url):
    rng = np.random.default_rng(5)
    batch = rng.standard_normal((10, 3, 224, 224), dtype=np.float32) + np.arange(10,
        dtype=np.float32)[:, None, None, None]
    response = post(session, server_url, infer_body(batch, output_names=["probs"]))
    [probs] = wire.decode_infer_response(response.content)
    assert probs.shape == (10, 14)
    np.testing.assert_allclose(probs, expected_outputs(batch)[0], rtol=1e-5, atol=1e-6)
    assert len(np.unique(probs[:, 0])) == 10


def test_config_is_accepted_and_ignored(session, server_url, image_batch):
    plain = post(session, server_url, infer_body(image_batch))
    configured = post(session, server_url, wire.encode_infer_request([image_batch], config="x=1"))
    assert configured.status_code == 200
    assert configured.content == plain.content


def test_concurrent_clients_each_get_their_own_answer(server_url):
    rng = np.random.default_rng(9)
    batches = [rng.standard_normal((2, 3, 224, 224), dtype=np.float32) + i for i in range(6)]
    results: dict[int, np.ndarray] = {}

    def ask(index: int) -> None:
        with requests.Session() as session:
            for _ in range(3):
                response = post(session, server_url, infer_body(batches[index],
                                                                output_names=["probs"]))
                results[index] = wire.decode_infer_response(response.content)[0]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for index, batch in enumerate(batches):
        np.testing.assert_allclose(results[index], expected_outputs(batch)[0], rtol=1e-5,
                                   atol=1e-6)


# --- bad requests ------------------------------------------------------------------------------

def _images(shape=(1, 3, 224, 224), dtype=np.float32):
    return np.zeros(shape, dtype)


BAD_REQUESTS = {
    "wrong dtype": (
        lambda: infer_body(_images(dtype=np.float64)),
        "input 'images' must be float32, got float64"),
    "wrong rank": (
        lambda: infer_body(_images((3, 224, 224))),
        "input 'images' must have 4 dimensions [-1, 3, 224, 224] (-1: any size), got 3: "
        "[3, 224, 224]"),
    "wrong shape": (
        lambda: infer_body(_images((1, 3, 224, 225))),
        "input 'images' must have shape [-1, 3, 224, 224] (-1: any size), got [1, 3, 224, 225]"),
    "empty batch": (
        lambda: infer_body(_images((0, 3, 224, 224))),
        "input 'images' is empty: shape [0, 3, 224, 224]"),
    "unknown input": (
        lambda: infer_body(_images(), input_names=["pixels"]),
        "unknown input 'pixels'; the model's inputs are 'images'"),
    "unknown output": (
        lambda: infer_body(_images(), output_names=["probs", "heatmaps"]),
        "unknown output 'heatmaps'; the model's outputs are 'probs', 'cams'"),
    "output twice": (
        lambda: infer_body(_images(), output_names=["probs", "probs"]),
        "output 'probs' is asked for twice"),
    "more tensors than inputs": (
        lambda: wire.encode_infer_request([_images(), _images()]),
        "the request carries 2 input tensors but the model takes 1 ('images')"),
    "missing input": (
        lambda: wire.encode_infer_request([]),
        "missing input 'images'; the model's inputs are 'images'"),
    "names and tensors disagree": (
        lambda: wire.encode_infer_request([_images()], input_names=["images", "extra"]),
        "the request names 2 inputs but carries 1 tensors"),
    "data length": (
        lambda: raw_request(Type.Float32, [1, 3, 224, 224], b"\x00" * 100),
        "a float32 tensor of shape [1, 3, 224, 224] needs 602112 bytes of data, got 100"),
    "string tensor": (
        lambda: raw_request(Type.String, [1], b""),
        "bad request body: String tensors are not supported"),
    "empty body": (
        lambda: b"",
        "bad request body: empty body: expected a GraphPipe request flatbuffer"),
    "garbage": (
        lambda: b"this is not a flatbuffer at all",
        "bad request body: not a valid GraphPipe request"),
    "over the size cap": (
        lambda: b"\x00" * (MAX_BODY_BYTES + 1),
        f"request body of {MAX_BODY_BYTES + 1} bytes is over the {MAX_BODY_BYTES}-byte limit"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_a_bad_request_gets_a_400_saying_what_is_wrong(session, server_url, image_batch, case):
    make_body, message = BAD_REQUESTS[case]

    response = post(session, server_url, make_body())

    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/plain")
    assert message in response.text
    assert_good_request_works(session, server_url, image_batch)


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_a_bad_request_leaves_the_keep_alive_connection_open(server_url, image_batch, case):
    make_body, _ = BAD_REQUESTS[case]
    connection = http.client.HTTPConnection(*host_and_port(server_url), timeout=30)
    connection.request("POST", "/", body=wire.encode_metadata_request())
    connection.getresponse().read()
    opened = connection.sock

    connection.request("POST", "/", body=make_body())
    response = connection.getresponse()
    response.read()
    connection.request("POST", "/", body=infer_body(image_batch))
    good = connection.getresponse()
    good.read()

    assert response.status == 400
    assert good.status == 200
    assert connection.sock is opened
    connection.close()


def host_and_port(url: str) -> tuple[str, int]:
    address = urlsplit(url)
    return address.hostname, address.port


def raw_exchange(server_url: str, *requests_bytes: bytes) -> list[bytes]:
    """Send raw HTTP requests one after another on one socket; the raw answer to each."""
    answers = []
    with socket.create_connection(host_and_port(server_url), timeout=10) as sock:
        reader = sock.makefile("rb")
        for request in requests_bytes:
            sock.sendall(request)
            status = reader.readline()
            headers = {}
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = reader.read(int(headers.get("content-length", 0)))
            answers.append(status + body)
    return answers


def test_a_post_without_content_length_gets_411_and_the_connection_stays(server_url):
    no_length, ready = raw_exchange(
        server_url,
        b"POST / HTTP/1.1\r\nHost: test\r\n\r\n",
        b"GET /control/is_ready HTTP/1.1\r\nHost: test\r\n\r\n",
    )
    assert no_length.startswith(b"HTTP/1.1 411")
    assert b"a POST needs a Content-Length header" in no_length
    assert ready.startswith(b"HTTP/1.1 200") and ready.endswith(b"ok")


def chunked(body: bytes, chunk_bytes: int = 1 << 20) -> bytes:
    pieces = [body[start:start + chunk_bytes] for start in range(0, len(body), chunk_bytes)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def test_a_chunked_body_is_read_like_any_other(server_url, image_batch):
    body = infer_body(image_batch[:1], output_names=["probs"])
    good, garbage = raw_exchange(
        server_url,
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(body, 4096),
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert good.startswith(b"HTTP/1.1 200")
    assert garbage.startswith(b"HTTP/1.1 400") and b"not a valid GraphPipe request" in garbage


def test_a_chunked_body_over_the_limit_is_refused_and_the_connection_stays(server_url):
    too_big, ready = raw_exchange(
        server_url,
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(b"\x00" * (MAX_BODY_BYTES + 1)),
        b"GET /control/is_ready HTTP/1.1\r\nHost: test\r\n\r\n")
    assert too_big.startswith(b"HTTP/1.1 400")
    assert f"over the {MAX_BODY_BYTES}-byte limit".encode() in too_big
    assert ready.startswith(b"HTTP/1.1 200") and ready.endswith(b"ok")


@pytest.mark.parametrize("framing", [b"Content-Length: -5", b"Content-Length: 12x",
                                     b"Content-Length: 5\r\nContent-Length: 6",
                                     b"Transfer-Encoding: gzip, chunked, identity"])
def test_malformed_framing_is_a_400_from_the_http_server(server_url, framing):
    [answer] = raw_exchange(server_url, b"POST / HTTP/1.1\r\nHost: t\r\n" + framing
                            + b"\r\n\r\nhello")
    assert answer.startswith(b"HTTP/1.1 400")


@pytest.mark.parametrize("head", [b"GET /" + b"a" * 4_000_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n",
                                  b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 4_000_000
                                  + b"\r\n\r\n",
                                  b"GET / HTTP/1.1\r\n" + b"X-Many: c\r\n" * 400_000 + b"\r\n"])
def test_a_request_head_without_end_is_a_400_and_closed(server_url, head, session, image_batch):
    """httptools keeps any length of URL or header; the server stops reading one at 64 KiB (and
    at most one socket read more) instead of filling its memory."""
    with socket.create_connection(host_and_port(server_url), timeout=10) as sock:
        try:
            sock.sendall(head)
        except OSError:  # closed while sending: the refusal was already written
            pass
        answer = sock.recv(1000)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert_good_request_works(session, server_url, image_batch)


def test_other_methods_get_a_405(session, server_url):
    response = session.put(server_url, data=b"x", timeout=10)
    assert response.status_code == 405 and "GET for the metadata" in response.text


def test_the_server_survives_a_storm_of_garbage(tiny_server, server_url, session, image_batch):
    rng = np.random.default_rng(3)
    for size in rng.integers(1, 5000, 200):
        assert post(session, server_url, rng.bytes(int(size))).status_code == 400
    with socket.create_connection(host_and_port(server_url), timeout=5) as sock:
        sock.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")  # e.g. a TLS hello
        sock.recv(1000)
    with socket.create_connection(host_and_port(server_url), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nshort")
    assert tiny_server.poll() is None
    assert_good_request_works(session, server_url, image_batch)


# --- faults, logs, process -----------------------------------------------------------------------

def test_a_model_failure_is_a_500_and_the_server_goes_on(session, fragile_server):
    failed = post(session, fragile_server, wire.encode_infer_request([np.ones((2, 4),
                                                                              np.float32)]))
    assert failed.status_code == 500
    assert failed.headers["Content-Type"].startswith("text/plain")
    assert "the model failed" in failed.text and "Reshape" in failed.text

    ok = post(session, fragile_server, wire.encode_infer_request([np.ones((1, 4), np.float32)]))
    assert ok.status_code == 200
    np.testing.assert_array_equal(wire.decode_infer_response(ok.content)[0], np.ones(4))


def test_each_request_is_logged_once_without_its_contents(tiny_server, session, server_url,
                                                          image_batch):
    post(session, server_url + "/logged-path",
         wire.encode_infer_request([image_batch], config="secret-config-value"))
    session.get(server_url + "/logged-get", timeout=10)

    log = tiny_server.log()
    [post_line] = [line for line in log.splitlines() if "/logged-path" in line]
    assert "POST /logged-path 200" in post_line and post_line.endswith(" ms")
    assert "GET /logged-get 200" in log
    assert "secret-config-value" not in log


def start_own_server(tiny_onnx, **env) -> tuple[Process, str]:
    listen = f"127.0.0.1:{free_port()}"
    server = Process("graphpipe-env", [sys.executable, "-m", "inference.server"],
                     env={"GP_MODEL": str(tiny_onnx), "GP_LISTEN": listen, **env})
    url = f"http://{listen}"
    wait_until(answers_http(f"{url}/control/is_ready"), timeout=60, what="GraphPipe server",
               process=server)
    return server, url


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_environment_settings_and_a_clean_stop_on_a_signal(tiny_onnx, signum):
    server, url = start_own_server(tiny_onnx)
    assert requests.get(url, timeout=10).json()["Name"] == "tiny chexnet"

    os.kill(server.popen.pid, signum)

    assert server.popen.wait(10) == 0
    assert "stopped" in server.log() and "Traceback" not in server.log()
    server.stop()


def test_a_missing_model_argument_is_a_usage_error():
    env = {key: value for key, value in os.environ.items() if not key.startswith("GP_")}
    result = subprocess.run([sys.executable, "-m", "inference.server"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--model (or GP_MODEL) is required" in result.stderr


def test_keep_alive_calls_are_not_held_back_by_nagle(session, server_url, image_batch):
    """Without TCP_NODELAY, a Python server's second write waits ~40 ms for a delayed ACK."""
    body = infer_body(image_batch[:1], output_names=["probs"])
    timings = []
    for _ in range(15):
        started = time.perf_counter()
        assert post(session, server_url, body).status_code == 200
        timings.append(time.perf_counter() - started)
    assert sorted(timings)[len(timings) // 2] < 0.025


def test_the_serving_path_imports_neither_torch_nor_django():
    code = ("import sys, inference.server.http_server, inference.graphpipe.client; "
            "print(sorted({'torch', 'django'} & {name.split('.')[0] for name in sys.modules}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "[]"


# --- the HTTP layer in this process --------------------------------------------------------------

class BrokenEndpoint:
    """An endpoint with a bug: answering raises."""

    metadata_json = b"{}"
    metadata_digest = "0" * 64
    model = cache = None

    def answer(self, body: bytes):
        raise RuntimeError("a bug")


@pytest.fixture
def in_process_server():
    servers = []

    def start(endpoint) -> tuple[GraphPipeServer, str]:
        server = GraphPipeServer(("127.0.0.1", 0), endpoint)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server, f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_server_that_is_not_ready_says_so_but_is_alive(in_process_server, tiny_onnx, session):
    server, url = in_process_server(ModelEndpoint(OnnxModel(tiny_onnx)))
    server.ready = False

    not_ready = session.get(url + "/control/is_ready", timeout=10)
    alive = session.get(url + "/control/is_alive", timeout=10)

    assert (not_ready.status_code, not_ready.text.strip()) == (503, "not ready")
    assert (alive.status_code, alive.text) == (200, "ok")


def test_a_bug_in_answering_is_a_500_not_a_dropped_connection(in_process_server, session):
    _, url = in_process_server(BrokenEndpoint())

    response = post(session, url, b"anything")

    assert response.status_code == 500
    assert "internal server error: a bug" in response.text
    assert session.get(url, timeout=10).json() == {}
