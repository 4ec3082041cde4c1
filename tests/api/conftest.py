"""API tests: a token client for each role user, request counts in the suite's Redis."""

import pytest
from rest_framework.test import APIClient

from diagnoses.api.tokens import api_token_create
from tests.factories import study_diagnosed

CALLBACK_SECRET = "test-callback-secret"


@pytest.fixture(autouse=True)
def private_storage(study_storage):
    """Each test's uploads in a folder of its own."""


@pytest.fixture(autouse=True)
def api_settings(settings, throttle_counts):
    settings.CHEXWEB_CALLBACK_SECRET = CALLBACK_SECRET
    settings.CHEXWEB_CALLBACKS_ALLOW_PRIVATE = True
    return settings


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        _, key = api_token_create(user=user, name="tests", days=1)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def api(clinician) -> APIClient:
    """A clinician's token client."""
    return client_for(clinician)


@pytest.fixture
def reviewer_api(reviewer) -> APIClient:
    return client_for(reviewer)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def diagnosed_study(clinician, model_server):
    """A study the real model server has read."""
    return study_diagnosed(uploaded_by=clinician, patient_id="P-1", accession_number="ACC-1")


class CallbackReceiver:
    """A tiny HTTP server on 127.0.0.1 that records POSTs and answers the statuses it is given
    (then 200s), with a Location header when `location` is set."""

    def __init__(self):
        import http.server
        import threading

        self.received: list[dict] = []
        self.statuses: list[int] = []
        self.location = ""
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/chexweb-hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def callback_receiver():
    receiver = CallbackReceiver()
    yield receiver
    receiver.close()
