"""The address rule of callbacks: an IPv6 address that carries an IPv4 address is judged by it."""

import ipaddress
import socket

import pytest
from django.core.exceptions import ValidationError

from diagnoses.callback_addresses import callback_address_allowed, callback_host_vet

PUBLIC_V4 = "93.184.215.14"  # 0x5db8d70e; XOR 0xffffffff: 0xa24728f1


def allowed(address: str) -> bool:
    return callback_address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", [
    PUBLIC_V4, "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    "::ffff:93.184.215.14", "2002:5db8:d70e::1",
    "2001:0:4136:e378:8000:63bf:a247:28f1",  # Teredo: server 65.54.227.120, client PUBLIC_V4
    "64:ff9b::5db8:d70e",
])
def test_public_addresses_and_forms_carrying_a_public_ipv4_address_are_allowed(address):
    assert allowed(address)


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "169.254.169.254", "100.64.0.1", "::1", "fe80::1", "fc00::1",
    "2001:db8::1", "::127.0.0.1", "::ffff:0:7f00:1",  # IPv4-compatible and SIIT: in ::/8
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.1.2.3",
    "2002:7f00:1::", "2002:a9fe:a9fe::", "2002:a01:203::1", "2002:6440:1::",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo client 127.0.0.1
    "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo client 169.254.169.254
    "2001:0:4136:e378:8000:63bf:f5fe:fdfc",  # Teredo client 10.1.2.3
    "2001:0:7f00:1:8000:63bf:a247:28f1",  # Teredo server 127.0.0.1, public client
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::a01:203",
    "64:ff9b:1::5db8:d70e",  # local-use NAT64: refused whatever it carries
])
def test_private_addresses_and_forms_carrying_a_private_ipv4_address_are_refused(address):
    assert not allowed(address)


def test_a_host_is_resolved_once_and_its_first_address_is_the_one_to_connect_to(monkeypatch):
    answers = []

    def resolver(host, port, *args, **kwargs):
        answers.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_V4, port)),
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2002:5db8:d70e::1", port, 0, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    assert callback_host_vet("hooks.example.com", 443) == ipaddress.ip_address(PUBLIC_V4)
    assert answers == ["hooks.example.com"]


def test_a_host_with_one_private_address_among_public_ones_is_refused(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *args, **kwargs: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_V4, port)),
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2002:7f00:1::", port, 0, 0)),
    ])
    with pytest.raises(ValidationError, match="resolves to 2002:7f00:1::.*public addresses only"):
        callback_host_vet("hooks.example.com", 443)


def test_a_host_that_does_not_resolve_is_refused():
    with pytest.raises(ValidationError, match="could not be resolved"):
        callback_host_vet("no-such-host.invalid", 443)
