"""GraphPipeClient against the real server, and against stand-ins that misbehave on purpose."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import requests

from inference.graphpipe import wire
from inference.graphpipe.model_tag import METADATA_DIGEST_HEADER, metadata_digest
from inference.graphpipe.client import (
    BadResponse,
    GraphPipeClient,
    GraphPipeError,
    RequestRejected,
    ServerFault,
    ServerUnavailable,
)
from tests.inference.conftest import expected_outputs
from tests.processes import free_port


@pytest.fixture
def client(server_url):
    with GraphPipeClient(server_url) as client:
        yield client


def test_infer_with_one_array_returns_the_default_output(client, image_batch):
    [probs] = client.infer(image_batch)
    np.testing.assert_allclose(probs, expected_outputs(image_batch)[0], rtol=1e-5, atol=1e-6)


def test_infer_returns_the_named_outputs_in_their_order(client, image_batch):
    cams, probs = client.infer([image_batch], input_names=["images"],
                               output_names=["cams", "probs"])
    assert (cams.shape, probs.shape) == ((3, 14, 7, 7), (3, 14))
    np.testing.assert_allclose(probs, expected_outputs(image_batch)[0], rtol=1e-5, atol=1e-6)


def test_metadata_describes_the_served_model(client, tiny_onnx):
    metadata = client.metadata()
    assert metadata.name == "tiny chexnet"
    assert metadata.server == "chexweb-graphpipe"
    assert [io.name for io in metadata.inputs] == ["images"]
    assert metadata.inputs[0].shape == [-1, 3, 224, 224]
    assert [io.name for io in metadata.outputs] == ["probs", "cams"]
    assert json.loads(metadata.description)["model_name"] == "tiny chexnet"


def test_every_model_answer_names_the_model_by_its_metadata_digest(server_url, image_batch):
    metadata = requests.post(server_url, data=wire.encode_metadata_request(), timeout=10)
    infer = requests.post(server_url, data=wire.encode_infer_request([image_batch]), timeout=10)
    assert metadata.headers[METADATA_DIGEST_HEADER] == metadata_digest(metadata.content)
    assert infer.headers[METADATA_DIGEST_HEADER] == metadata_digest(metadata.content)
    assert METADATA_DIGEST_HEADER not in requests.get(f"{server_url}/control/is_ready",
                                                      timeout=10).headers


def test_infer_by_model_names_the_model_that_answered(client, image_batch):
    (probs,), metadata = client.infer_by_model(image_batch, output_names=["probs"])
    assert metadata.name == "tiny chexnet" and probs.shape == (3, 14)


def test_a_rejected_request_carries_the_servers_message(client, image_batch):
    with pytest.raises(RequestRejected, match="input 'images' must be float32, got float64"):
        client.infer(image_batch.astype(np.float64))
    assert client.infer(image_batch, output_names=["probs"])[0].shape == (3, 14)


def test_a_model_failure_is_a_server_fault(fragile_server):
    with GraphPipeClient(fragile_server) as client:
        with pytest.raises(ServerFault, match="the model failed"):
            client.infer(np.ones((2, 4), np.float32))


def test_nobody_listening_is_server_unavailable():
    with GraphPipeClient(f"http://127.0.0.1:{free_port()}", connect_timeout=1) as client:
        with pytest.raises(ServerUnavailable, match="unavailable"):
            client.metadata()


def test_every_error_is_a_graphpipe_error():
    for error in (ServerUnavailable, RequestRejected, ServerFault, BadResponse):
        assert issubclass(error, GraphPipeError)


# --- stand-in servers ---------------------------------------------------------------------------

class StandIn(ThreadingHTTPServer):
    """Answers every POST with the same canned answer (a MetadataRequest with METADATA, if
    given); counts the connections it accepted and the requests it answered."""

    daemon_threads = True

    def __init__(self, status: int, body: bytes, metadata: bytes | None = None):
        self.status, self.body, self.metadata = status, body, metadata
        self.model_digest = ""  # sent as our server's GraphPipe-Metadata-Sha256 header, if set
        self.connections = self.posts = 0
        super().__init__(("127.0.0.1", 0), StandInHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def get_request(self):
        self.connections += 1
        return super().get_request()


class StandInHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        request = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts += 1
        body = self.server.body
        if self.server.metadata and isinstance(wire.decode_request(request),
                                               wire.MetadataRequest):
            body = self.server.metadata
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(body)))
        if self.server.model_digest:
            self.send_header(METADATA_DIGEST_HEADER, self.server.model_digest)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def stand_in():
    servers = []

    def start(status: int, body: bytes, metadata: bytes | None = None) -> StandIn:
        servers.append(StandIn(status, body, metadata))
        return servers[-1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status, error, message", [
    (503, ServerUnavailable, "not ready (503): draining"),
    (500, ServerFault, "failed (500): draining"),
    (404, RequestRejected, "refused the request (404): draining"),
    (302, BadResponse, "answered HTTP 302"),
])
def test_http_statuses_map_to_errors(stand_in, status, error, message):
    server = stand_in(status, b"draining\n")
    with GraphPipeClient(server.url, backoff=0) as client:
        with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
            client.metadata()


def test_an_undecodable_answer_is_a_bad_response(stand_in):
    server = stand_in(200, b"<html>proxy error</html>")
    with GraphPipeClient(server.url) as client:
        with pytest.raises(BadResponse, match="unreadable InferResponse"):
            client.infer(np.zeros((1, 2), np.float32))
        with pytest.raises(BadResponse, match="unreadable MetadataResponse"):
            client.metadata()


def test_the_wrong_number_of_outputs_is_a_bad_response(stand_in):
    server = stand_in(200, wire.encode_infer_response([np.zeros((1, 14), np.float32)]))
    with GraphPipeClient(server.url) as client:
        assert len(client.infer(np.zeros((1, 2), np.float32), output_names=["probs"])) == 1
        with pytest.raises(BadResponse, match="returned 1 outputs for 2 output names"):
            client.infer(np.zeros((1, 2), np.float32), output_names=["probs", "cams"])


def test_one_connection_serves_many_calls(stand_in):
    server = stand_in(200, wire.encode_infer_response([np.zeros((1, 14), np.float32)]))
    with GraphPipeClient(server.url) as client:
        for _ in range(5):
            client.infer(np.zeros((1, 2), np.float32))
    assert server.connections == 1


def test_a_silent_server_is_unavailable_after_the_read_timeout():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with GraphPipeClient(url, connect_timeout=1, read_timeout=0.3, backoff=0) as client:
            with pytest.raises(ServerUnavailable, match="timed out"):
                client.metadata()


# --- several servers, retries, shapes ------------------------------------------------------------

def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_urls_come_as_a_list_or_comma_separated():
    with GraphPipeClient(" http://a:1, http://b:2 ,") as client:
        assert client.urls == ["http://a:1", "http://b:2"] and client.url == "http://a:1"
    with GraphPipeClient(["http://a:1", "http://b:2"]) as client:
        assert client.urls == ["http://a:1", "http://b:2"]
    with pytest.raises(ValueError, match="no GraphPipe server URL"):
        GraphPipeClient(" , ")


def test_an_unreachable_server_fails_over_to_the_next(server_url, image_batch):
    with GraphPipeClient(f"{dead_url()},{server_url}", connect_timeout=1, backoff=0) as client:
        [probs] = client.infer(image_batch, output_names=["probs"])
        assert client.url == server_url
        assert client.metadata().name == "tiny chexnet"
    np.testing.assert_allclose(probs, expected_outputs(image_batch)[0], rtol=1e-5, atol=1e-6)


def test_calls_start_from_the_server_that_answered_last(stand_in):
    first = stand_in(503, b"draining")
    second = stand_in(200, wire.encode_metadata_response(wire.ModelMetadata(name="m")))
    with GraphPipeClient([first.url, second.url], backoff=0) as client:
        for _ in range(3):
            assert client.metadata().name == "m"
    assert (first.posts, second.posts) == (1, 3)


def test_503_is_retried_a_bounded_number_of_rounds(stand_in):
    first, second = stand_in(503, b"busy"), stand_in(503, b"busy too")
    with GraphPipeClient([first.url, second.url], attempts=3, backoff=0.01) as client:
        with pytest.raises(ServerUnavailable, match="no model server available after 3 rounds"):
            client.metadata()
    assert (first.posts, second.posts) == (3, 3)


@pytest.mark.parametrize("status, error", [(400, RequestRejected), (500, ServerFault),
                                           (404, RequestRejected)])
def test_other_errors_are_never_retried_nor_failed_over(stand_in, status, error):
    failing, spare = stand_in(status, b"no"), stand_in(200, b"")
    with GraphPipeClient([failing.url, spare.url], backoff=0) as client:
        with pytest.raises(error, match=f"at {failing.url}"):
            client.infer(np.zeros((1, 2), np.float32))
    assert (failing.posts, spare.posts) == (1, 0)


def test_outputs_are_checked_against_the_rows_sent_and_the_metadata(stand_in):
    metadata = wire.encode_metadata_response(wire.ModelMetadata(outputs=[
        wire.IOMetadata("probs", shape=[-1, 14], type=10)]))
    server = stand_in(200, wire.encode_infer_response([np.zeros((2, 14), np.float32)]), metadata)
    with GraphPipeClient(server.url) as client:
        client.metadata()
        assert client.infer(np.zeros((2, 4), np.float32), output_names=["probs"])[0].shape == (
            2, 14)
        with pytest.raises(BadResponse, match=r"returned probs of shape \[2, 14\], expected "
                                              r"\[3, 14\]"):
            client.infer(np.zeros((3, 4), np.float32), output_names=["probs"])


# --- which model answered -----------------------------------------------------------------------

def named_model(name: str) -> bytes:
    return wire.encode_metadata_response(wire.ModelMetadata(name=name))


def probs_server(stand_in, model: str, *, names_its_model: bool):
    server = stand_in(200, wire.encode_infer_response([np.zeros((1, 14), np.float32)]),
                      named_model(model))
    server.model_digest = metadata_digest(named_model(model)) if names_its_model else ""
    return server


def test_a_server_naming_its_model_is_asked_for_metadata_only_when_the_model_changes(stand_in):
    server = probs_server(stand_in, "densenet v1", names_its_model=True)
    with GraphPipeClient(server.url) as client:
        names = [client.infer_by_model(np.zeros((1, 2), np.float32))[1].name for _ in range(3)]
        assert (names, server.posts) == (["densenet v1"] * 3, 1 + 3)
        server.metadata = named_model("densenet v2")
        server.model_digest = metadata_digest(server.metadata)
        assert client.infer_by_model(np.zeros((1, 2), np.float32))[1].name == "densenet v2"
    assert server.posts == 4 + 2


def test_a_server_not_naming_its_model_is_asked_after_every_answer(stand_in):
    server = probs_server(stand_in, "foreign", names_its_model=False)
    with GraphPipeClient(server.url) as client:
        for _ in range(3):
            assert client.infer_by_model(np.zeros((1, 2), np.float32))[1].name == "foreign"
    assert server.posts == 3 * 2


def test_a_model_changing_between_answer_and_metadata_is_worth_asking_again(stand_in):
    server = probs_server(stand_in, "old", names_its_model=True)
    server.model_digest = metadata_digest(named_model("new"))  # answered by a model now gone
    with GraphPipeClient(server.url) as client:
        with pytest.raises(ServerUnavailable, match="changed while answering"):
            client.infer_by_model(np.zeros((1, 2), np.float32))


def test_after_a_failover_the_answering_servers_model_is_named(stand_in):
    first = probs_server(stand_in, "model on a", names_its_model=True)
    second = probs_server(stand_in, "model on b", names_its_model=True)
    with GraphPipeClient([first.url, second.url], backoff=0) as client:
        assert client.infer_by_model(np.zeros((1, 2), np.float32))[1].name == "model on a"
        first.status = 503
        assert client.infer_by_model(np.zeros((1, 2), np.float32))[1].name == "model on b"
