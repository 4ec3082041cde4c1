"""/control/shutdown answers only this machine, or the control token when one is set; 403 else."""

import secrets
import socket
import threading

import pytest
import requests

from inference.server.control_access import is_loopback, refusal_reason
from inference.server.endpoint import ModelEndpoint
from inference.server.http_server import GraphPipeServer
from inference.server.runtime import OnnxModel
from tests.inference.conftest import start_server

TOKEN = secrets.token_urlsafe(32)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1",
                                  "::ffff:127.0.0.1"])
def test_loopback_addresses(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["192.0.2.2", "10.0.0.1", "0.0.0.0", "::", "fe80::1%eth0",
                                  "::ffff:192.0.2.2", "2002:7f00:1::", "localhost", ""])
def test_other_addresses_are_not_loopback(host):
    assert not is_loopback(host)


def test_without_a_token_only_this_machine_may_shut_it_down():
    assert refusal_reason("127.0.0.1", {}, None) is None
    assert refusal_reason("::1", {}, None) is None
    assert "only this machine" in refusal_reason("192.0.2.2", {}, None)
    assert "only this machine" in refusal_reason("192.0.2.2", {"Authorization": "Bearer x"}, None)


def test_with_a_token_only_the_token_may_shut_it_down():
    assert refusal_reason("192.0.2.2", {"Authorization": f"Bearer {TOKEN}"}, TOKEN) is None
    assert refusal_reason("127.0.0.1", {"Authorization": f"bearer {TOKEN}"}, TOKEN) is None
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": TOKEN}):
        assert "Bearer" in refusal_reason("127.0.0.1", headers, TOKEN), headers


@pytest.mark.parametrize("header", [{"Origin": "http://evil.example"},
                                    {"Sec-Fetch-Site": "cross-site"}])
def test_a_browser_request_is_refused_even_from_this_machine(header):
    assert "browser" in refusal_reason("127.0.0.1", header, None)
    assert "browser" in refusal_reason("127.0.0.1", {**header,
                                                     "Authorization": f"Bearer {TOKEN}"}, TOKEN)


def serve(onnx, host: str, token: str | None) -> tuple[GraphPipeServer, str]:
    server = GraphPipeServer((host, 0), ModelEndpoint(OnnxModel(onnx)), control_token=token)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"


@pytest.fixture
def stop_servers():
    servers = []
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def assert_still_serving(server: GraphPipeServer, url: str) -> None:
    assert not server.shutdown_requested.is_set() and not server.draining.is_set()
    for path in ("/control/is_ready", "/control/is_alive", "/control/client_count", ""):
        assert requests.get(url + path, timeout=10).status_code == 200, path


def test_a_wrong_or_missing_token_is_refused_and_the_server_keeps_serving(tiny_onnx,
                                                                          stop_servers):
    server, url = serve(tiny_onnx, "127.0.0.1", TOKEN)
    stop_servers.append(server)
    for headers in ({}, {"Authorization": "Bearer " + secrets.token_urlsafe(32)}):
        for method in ("POST", "GET"):
            refused = requests.request(method, url + "/control/shutdown", headers=headers,
                                       timeout=10)
            assert refused.status_code == 403 and "Bearer" in refused.text
    assert_still_serving(server, url)
    metrics = requests.get(url + "/metrics", timeout=10).text
    assert 'graphpipe_errors_total{kind="forbidden"} 4.0' in metrics

    accepted = requests.post(url + "/control/shutdown", timeout=10,
                             headers={"Authorization": f"Bearer {TOKEN}"})
    assert accepted.status_code == 200
    assert server.shutdown_requested.wait(10)


def non_loopback_address() -> str:
    """An address of this machine's own that is not loopback (the one its default route uses)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            pytest.skip("this machine has no IPv4 route off loopback")
        address = probe.getsockname()[0]
    if is_loopback(address):
        pytest.skip("this machine has no IPv4 address off loopback")
    return address


def test_a_peer_off_this_machine_is_refused_without_a_token(tiny_onnx, stop_servers):
    server, url = serve(tiny_onnx, non_loopback_address(), None)
    stop_servers.append(server)
    refused = requests.post(url + "/control/shutdown", timeout=10)
    assert refused.status_code == 403 and "only this machine" in refused.text
    assert_still_serving(server, url)


def test_a_peer_off_this_machine_with_the_token_may_shut_it_down(tiny_onnx, stop_servers):
    server, url = serve(tiny_onnx, non_loopback_address(), TOKEN)
    stop_servers.append(server)
    accepted = requests.post(url + "/control/shutdown", timeout=10,
                             headers={"Authorization": f"Bearer {TOKEN}"})
    assert accepted.status_code == 200
    assert server.shutdown_requested.wait(10)


def test_the_server_process_takes_its_token_from_the_command_line(tiny_onnx):
    server, url = start_server(tiny_onnx, "--control-token", TOKEN)
    try:
        assert requests.post(url + "/control/shutdown", timeout=10).status_code == 403
        assert requests.get(url + "/control/is_ready", timeout=10).status_code == 200
        accepted = requests.post(url + "/control/shutdown", timeout=10,
                                 headers={"Authorization": f"Bearer {TOKEN}"})
        assert accepted.status_code == 200
        assert server.popen.wait(20) == 0
    finally:
        server.stop()
