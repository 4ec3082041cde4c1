"""pinned_post: the TCP connection goes to the vetted address; the URL's name stays the TLS server
name (SNI, certificate check) and the Host header. Receivers are local HTTP(S) servers; the name
they are reached by does not resolve (.test), so a request that arrives went to the pinned
address."""

import http.server
import ipaddress
import socket
import ssl
import threading

import pytest
import requests
import trustme

from diagnoses.pinned_http import pinned_post

NAME = "callbacks.hospital.test"
LOOPBACK = ipaddress.ip_address("127.0.0.1")


class Receiver:
    """An HTTP server on 127.0.0.1, HTTPS when given a certificate; records the TLS server names
    (SNI) and the requests it gets."""

    def __init__(self, certificate: trustme.LeafCert | None = None):
        self.server_names: list[str | None] = []
        self.requests: list[dict] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "host": self.headers["Host"],
                                          "body": body})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        if certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            certificate.configure_cert(context)
            context.sni_callback = lambda sock, name, ctx: receiver.server_names.append(name)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ca():
    return trustme.CA()


@pytest.fixture
def resolved(monkeypatch):
    """The names looked up while the test runs."""
    resolve, names = socket.getaddrinfo, []

    def recording(host, *args, **kwargs):
        names.append(host)
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    return names


def test_https_connects_to_the_pinned_address_with_the_url_name_as_sni_and_host(ca, resolved):
    receiver = Receiver(ca.issue_cert(NAME))
    try:
        with ca.cert_pem.tempfile() as ca_bundle:
            response = pinned_post(f"https://{NAME}:{receiver.port}/hook?x=1", address=LOOPBACK,
                                   data=b"{}", verify=ca_bundle, timeout=5)
    finally:
        receiver.close()
    assert response.status_code == 204
    assert receiver.server_names == [NAME]
    assert receiver.requests == [{"path": "/hook?x=1", "host": f"{NAME}:{receiver.port}",
                                  "body": b"{}"}]
    assert NAME not in resolved and "127.0.0.1" in resolved


def test_the_certificate_is_checked_against_the_url_name_not_the_address(ca):
    receiver = Receiver(ca.issue_cert("elsewhere.hospital.test", "127.0.0.1"))
    try:
        with ca.cert_pem.tempfile() as ca_bundle, pytest.raises(requests.exceptions.SSLError,
                                                                match=NAME):
            pinned_post(f"https://{NAME}:{receiver.port}/hook", address=LOOPBACK, data=b"{}",
                        verify=ca_bundle, timeout=5)
    finally:
        receiver.close()
    assert receiver.requests == []


def test_a_certificate_from_an_untrusted_authority_is_refused(ca):
    receiver = Receiver(trustme.CA().issue_cert(NAME))
    try:
        with ca.cert_pem.tempfile() as ca_bundle, pytest.raises(requests.exceptions.SSLError):
            pinned_post(f"https://{NAME}:{receiver.port}/hook", address=LOOPBACK, data=b"{}",
                        verify=ca_bundle, timeout=5)
    finally:
        receiver.close()
    assert receiver.requests == []


def test_plain_http_connects_to_the_pinned_address_with_the_url_name_as_host(resolved):
    receiver = Receiver()
    try:
        response = pinned_post(f"http://{NAME}:{receiver.port}/hook", address=LOOPBACK,
                               data=b"{}", timeout=5)
    finally:
        receiver.close()
    assert response.status_code == 204
    assert receiver.requests[0]["host"] == f"{NAME}:{receiver.port}"
    assert NAME not in resolved


def test_an_environment_proxy_is_not_used_for_a_pinned_post(monkeypatch):
    receiver = Receiver()
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    try:
        response = pinned_post(f"http://{NAME}:{receiver.port}/hook", address=LOOPBACK,
                               data=b"{}", timeout=5)
    finally:
        receiver.close()
    assert response.status_code == 204 and len(receiver.requests) == 1
