import hashlib
import hmac
import json

import pytest
from django.core.exceptions import ValidationError

from diagnoses import services
from diagnoses import callbacks
from diagnoses.tasks import deliver_callback
from diagnoses.models import CallbackDelivery, Study
from tests.api.conftest import CALLBACK_SECRET
from tests.factories import study_uploaded, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def public_only(settings):
    settings.CHEXWEB_CALLBACKS_ALLOW_PRIVATE = False


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hook", "https://localhost/hook", "https://10.1.2.3/hook",
    "https://192.168.0.10/hook", "https://169.254.169.254/latest/meta-data",
    "https://224.0.0.1/hook", "https://240.0.0.1/hook", "https://0.0.0.0/hook",
    "https://[::1]/hook", "https://[::ffff:127.0.0.1]/hook", "https://[fe80::1]/hook",
])
def test_private_loopback_link_local_multicast_and_reserved_hosts_are_refused(public_only, url):
    with pytest.raises(ValidationError, match="public addresses only"):
        callbacks.callback_url_check(url)


def test_a_public_https_url_is_accepted(public_only):
    callbacks.callback_url_check("https://93.184.215.14/chexweb")


def test_plain_http_is_refused_unless_private_receivers_are_allowed(public_only):
    with pytest.raises(ValidationError, match="https URL"):
        callbacks.callback_url_check("http://93.184.215.14/chexweb")


def test_an_unresolvable_host_is_refused(public_only):
    with pytest.raises(ValidationError, match="could not be resolved"):
        callbacks.callback_url_check("https://no-such-host.invalid/hook")


def test_private_receivers_may_be_allowed_by_a_setting():
    callbacks.callback_url_check("http://127.0.0.1:8123/hook")


def test_callbacks_are_refused_without_a_secret(settings):
    settings.CHEXWEB_CALLBACK_SECRET = ""
    with pytest.raises(ValidationError, match="CHEXWEB_CALLBACK_SECRET"):
        callbacks.callback_url_check("https://93.184.215.14/chexweb")


def test_a_submission_with_a_private_callback_url_is_refused(api, public_only):
    response = api.post("/api/v1/studies/", {"file": upload(),
                                             "callback_url": "https://127.0.0.1/hook"},
                        format="multipart")
    assert response.status_code == 400
    assert "public addresses only" in response.json()["error"]["fields"]["callback_url"][0]
    assert not Study.objects.exists()


def finished_study(clinician, callback_url: str, status: str = "done") -> Study:
    study = study_uploaded(uploaded_by=clinician)
    services.study_fail(study_id=study.pk, reason="for the test")
    Study.objects.filter(pk=study.pk).update(callback_url=callback_url, status=status)
    return Study.objects.get(pk=study.pk)


def test_a_finished_study_gets_one_delivery_per_finish(clinician, callback_receiver,
                                                       django_capture_on_commit_callbacks):
    study = finished_study(clinician, callback_receiver.url)
    with django_capture_on_commit_callbacks() as queued:
        delivery = callbacks.study_finished(study_id=study.pk)
        again = callbacks.study_finished(study_id=study.pk)
    assert again == delivery and len(queued) == 1
    assert CallbackDelivery.objects.get().url == callback_receiver.url


def test_a_study_without_callback_url_gets_no_delivery(clinician):
    study = finished_study(clinician, "")
    assert callbacks.study_finished(study_id=study.pk) is None
    assert not CallbackDelivery.objects.exists()


def test_the_delivery_is_a_signed_json_post(clinician, callback_receiver):
    study = finished_study(clinician, callback_receiver.url, status="failed")
    delivery = callbacks.study_finished(study_id=study.pk)
    attempt = callbacks.callback_deliver(delivery_id=delivery.pk)
    assert attempt == callbacks.Attempt(delivered=True, retry=False, attempts=1)
    [request] = callback_receiver.received
    headers, body = request["headers"], request["body"]
    signed = headers["X-ChexWeb-Timestamp"].encode() + b"." + body
    expected = hmac.new(CALLBACK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert headers["X-ChexWeb-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["event"] == "study.finished" and payload["delivery"] == delivery.pk
    assert payload["study"]["id"] == str(study.pk) and payload["study"]["status"] == "failed"
    assert payload["study"]["url"] == f"/api/v1/studies/{study.pk}/"
    assert "patient_id" not in payload["study"]
    delivery.refresh_from_db()
    assert delivery.delivered_at is not None and delivery.last_status == 200


@pytest.mark.parametrize("status, retry", [(500, True), (503, True), (429, True), (400, False),
                                           (404, False)])
def test_server_errors_are_retried_and_refusals_are_not(clinician, callback_receiver, status,
                                                        retry):
    callback_receiver.statuses = [status]
    delivery = callbacks.study_finished(
        study_id=finished_study(clinician, callback_receiver.url).pk)
    attempt = callbacks.callback_deliver(delivery_id=delivery.pk)
    assert (attempt.delivered, attempt.retry) == (False, retry)
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status) == (1, status)


def test_an_unreachable_receiver_is_retried(clinician):
    from tests.processes import free_port

    delivery = callbacks.study_finished(study_id=finished_study(
        clinician, f"http://127.0.0.1:{free_port()}/hook").pk)
    attempt = callbacks.callback_deliver(delivery_id=delivery.pk)
    assert attempt.retry
    delivery.refresh_from_db()
    assert "ConnectionError" in delivery.last_error


def test_the_task_retries_with_backoff_until_delivered(clinician, callback_receiver):
    callback_receiver.statuses = [500, 502]
    delivery = callbacks.study_finished(
        study_id=finished_study(clinician, callback_receiver.url).pk)
    deliver_callback.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.attempts == 3 and delivery.delivered_at is not None
    assert len(callback_receiver.received) == 3


def test_the_task_gives_up_after_the_last_attempt(clinician, callback_receiver, settings):
    settings.CHEXWEB_CALLBACK_MAX_ATTEMPTS = 2
    callback_receiver.statuses = [500] * 5
    delivery = callbacks.study_finished(
        study_id=finished_study(clinician, callback_receiver.url).pk)
    deliver_callback.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.delivered_at is None


def test_the_backoff_doubles_up_to_an_hour(settings):
    settings.CHEXWEB_CALLBACK_BACKOFF_S = 10
    assert [callbacks.callback_backoff(n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert callbacks.callback_backoff(30) == 3600


def test_a_study_rerun_meanwhile_is_not_announced(clinician, callback_receiver):
    study = finished_study(clinician, callback_receiver.url)
    delivery = callbacks.study_finished(study_id=study.pk)
    Study.objects.filter(pk=study.pk).update(status="queued")
    assert not callbacks.callback_deliver(delivery_id=delivery.pk).retry
    assert callback_receiver.received == []


def test_a_receiver_that_became_private_is_not_posted_to(clinician, callback_receiver,
                                                         settings):
    delivery = callbacks.study_finished(
        study_id=finished_study(clinician, callback_receiver.url).pk)
    settings.CHEXWEB_CALLBACKS_ALLOW_PRIVATE = False
    attempt = callbacks.callback_deliver(delivery_id=delivery.pk)
    assert not attempt.retry and callback_receiver.received == []
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("Not sent:")


@pytest.mark.parametrize("address", [
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.1.2.3",
    "2002:7f00:1::", "2002:a9fe:a9fe::", "2002:a01:203::1",  # 6to4
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (stored XOR 0xffffffff)
    "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo, client 169.254.169.254
    "2001:0:4136:e378:8000:63bf:f5fe:fdfc",  # Teredo, client 10.1.2.3
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::a01:203",  # NAT64
    "64:ff9b:1::7f00:1", "64:ff9b:1:a9fe:a9:fe00::",  # local-use NAT64
])
def test_ipv6_forms_carrying_a_private_ipv4_address_are_refused(public_only, address):
    with pytest.raises(ValidationError, match="public addresses only"):
        callbacks.callback_url_check(f"https://[{address}]/hook")


class LoopbackListener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self):
        import socket
        import threading

        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.1)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self.open = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while self.open:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self):
        self.open = False
        self.thread.join()
        self.socket.close()


def test_a_host_that_rebinds_after_the_check_is_posted_to_the_vetted_address_only(
        clinician, public_only, settings, monkeypatch):
    import socket

    settings.CHEXWEB_CALLBACK_TIMEOUT_S = 1
    loopback = LoopbackListener()
    resolve, asked = socket.getaddrinfo, []

    def rebinding_resolver(host, port, *args, **kwargs):
        """The name answers a public address first, loopback after (DNS rebinding)."""
        asked.append(host)
        if host == "hooks.example.com":
            host = "93.184.215.14" if asked.count(host) == 1 else "127.0.0.1"
        return resolve(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_resolver)
    try:
        delivery = callbacks.study_finished(study_id=finished_study(
            clinician, f"https://hooks.example.com:{loopback.port}/hook").pk)
        attempt = callbacks.callback_deliver(delivery_id=delivery.pk)
    finally:
        monkeypatch.undo()
        loopback.close()
    assert loopback.connections == 0
    assert asked.count("hooks.example.com") == 1 and "93.184.215.14" in asked
    assert (attempt.delivered, attempt.retry) == (False, True)


def test_a_redirect_is_not_followed(clinician, callback_receiver):
    from tests.api.conftest import CallbackReceiver

    elsewhere = CallbackReceiver()
    try:
        callback_receiver.statuses = [307]
        callback_receiver.location = elsewhere.url
        delivery = callbacks.study_finished(
            study_id=finished_study(clinician, callback_receiver.url).pk)
        attempt = callbacks.callback_deliver(delivery_id=delivery.pk)
    finally:
        elsewhere.close()
    assert len(callback_receiver.received) == 1 and elsewhere.received == []
    assert (attempt.delivered, attempt.retry) == (False, False)
    delivery.refresh_from_db()
    assert delivery.last_status == 307


@pytest.mark.parametrize("url", ["https://hooks.example.com:99999/hook",
                                 "https://hooks.example.com:0/hook"])
@pytest.mark.parametrize("allow_private", [False, True])
def test_a_callback_url_with_a_port_out_of_range_is_refused(api, settings, url, allow_private):
    settings.CHEXWEB_CALLBACKS_ALLOW_PRIVATE = allow_private
    response = api.post("/api/v1/studies/", {"file": upload(), "callback_url": url},
                        format="multipart")
    assert response.status_code == 400
    assert "port must be a number from 1 to 65535" in (
        response.json()["error"]["fields"]["callback_url"][0])
    assert not Study.objects.exists()
