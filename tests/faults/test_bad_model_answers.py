"""Fault 4: the model server answers garbage, or well-formed outputs of the wrong shape. The
study fails at once with a reason that says so; nothing is retried. And one that only ever says
503 (not ready): retried with backoff, then failed as re-runnable."""

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from inference.graphpipe.wire import (
    IOMetadata,
    MetadataRequest,
    ModelMetadata,
    Type,
    decode_request,
    encode_infer_response,
    encode_metadata_response,
)
from tests.faults.conftest import FaultStack, distinct_xrays

pytestmark = pytest.mark.system
STUDIES = 3
MAX_RETRIES = 2  # retries after 1 and 2 s (less up to a quarter), then the study fails
METADATA = ModelMetadata(
    name="impostor", description="a GraphPipe server that answers badly",
    inputs=[IOMetadata("input", shape=[-1, 3, 224, 224], type=Type.Float32)],
    outputs=[IOMetadata("probs", shape=[-1, 14], type=Type.Float32),
             IOMetadata("cams", shape=[-1, 14, 7, 7], type=Type.Float32)],
)


class BadModelServer(ThreadingHTTPServer):
    """Describes a CheXNet-like model truthfully, then answers inference with `answer`:
    "garbage", "wrong shape", "good" (all findings 0.5); "not ready" answers 503 to anything."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), BadModelHandler)
        self.answer = "garbage"
        self.requests = 0
        self.infer_requests = 0
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class BadModelHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # /control/is_ready
        self._send(200, b"ready")

    def do_POST(self):
        request = decode_request(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests += 1
        if self.server.answer == "not ready":
            return self._send(503, b"not ready")
        if isinstance(request, MetadataRequest):
            return self._send(200, encode_metadata_response(METADATA))
        self.server.infer_requests += 1
        if self.server.answer == "garbage":
            return self._send(200, os.urandom(4096))
        rows = request.inputs[0].shape[0]
        findings = 13 if self.server.answer == "wrong shape" else 14
        self._send(200, encode_infer_response([np.full((rows, findings), 0.5, np.float32),
                                               np.zeros((rows, 14, 7, 7), np.float32)]))

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def bad_model_server():
    server = BadModelServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def stack_on_a_bad_model(tmp_path_factory, migrated_database, chexnet_onnx, bad_model_server):
    stack = FaultStack(tmp_path_factory.mktemp("var"), migrated_database, chexnet_onnx,
                       graphpipe_url=bad_model_server.url,
                       settings={"CHEXWEB_DIAGNOSIS_MAX_RETRIES": str(MAX_RETRIES)})
    try:
        for name in ("redis", "worker", "beat", "web"):
            stack.start(name)
        yield stack
    finally:
        stack.stop_all()


@pytest.mark.parametrize("answer, reason", [
    ("garbage", "The model server gave an unusable answer: unreadable InferResponse"),
    ("wrong shape", "The model server gave an unusable answer"),
])
def test_a_bad_answer_fails_the_study_at_once_with_its_reason(
        stack_on_a_bad_model, bad_model_server, answer, reason):
    bad_model_server.answer = answer
    asked_before = bad_model_server.infer_requests
    ids = stack_on_a_bad_model.upload(distinct_xrays(STUDIES))

    took = stack_on_a_bad_model.wait_finished(ids, timeout=120)
    time.sleep(3)  # long enough for a first retry (1 s) to show

    for status, failure_reason in stack_on_a_bad_model.studies(ids).values():
        assert status == "failed"
        assert failure_reason.startswith(reason), failure_reason
        if answer == "wrong shape":
            assert "shape [1, 13]" in failure_reason, failure_reason
    assert not stack_on_a_bad_model.predictions(ids)
    asked = bad_model_server.infer_requests - asked_before
    assert STUDIES <= asked <= 2 * STUDIES  # one each; no retry storm
    shown = stack_on_a_bad_model.status_json(ids[0])
    assert shown["status"] == "failed" and shown["failure_reason"].startswith(reason)
    print(f"\nFIGURES fault=bad-answer-{answer.replace(' ', '-')} studies={STUDIES} "
          f"infer_requests={asked} failed_within_s={took:.1f}")


def test_a_model_server_that_stays_unavailable_fails_the_study_after_the_last_retry(
        stack_on_a_bad_model, bad_model_server):
    bad_model_server.answer = "not ready"
    asked_before = bad_model_server.requests
    ids = stack_on_a_bad_model.upload(distinct_xrays(STUDIES))

    took = stack_on_a_bad_model.wait_finished(ids, timeout=120)

    attempts = MAX_RETRIES + 1
    for status, failure_reason in stack_on_a_bad_model.studies(ids).values():
        assert status == "failed"
        assert failure_reason.startswith(f"Model server unavailable after {attempts} attempts")
        assert failure_reason.endswith("The study can be re-run.")
    asked = bad_model_server.requests - asked_before
    rounds = 3  # the GraphPipe client's own tries of one attempt (inference.graphpipe.client)
    assert asked <= STUDIES * attempts * rounds  # bounded: backoff, no storm

    bad_model_server.answer = "good"
    for study_id in ids:
        stack_on_a_bad_model.rerun(study_id)
    stack_on_a_bad_model.wait_finished(ids, timeout=120)
    assert {status for status, _ in stack_on_a_bad_model.studies(ids).values()} == {"done"}
    assert set(stack_on_a_bad_model.predictions(ids).values()) == {1}
    print(f"\nFIGURES fault=model-server-503-forever studies={STUDIES} attempts={attempts} "
          f"requests={asked} failed_within_s={took:.1f} rerun=done")
