"""The client's address: X-Forwarded-For is read only from a trusted proxy, from the right."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from chexweb.client_address import client_address, trusted_proxies_parse

PROXIES = "10.0.0.0/8, 192.0.2.1, fd00::/8"


@pytest.mark.parametrize("peer, forwarded, client", [
    ("198.51.100.7", None, "198.51.100.7"),
    ("198.51.100.7", "203.0.113.9", "198.51.100.7"),  # not from a proxy: the header is ignored
    ("10.0.0.2", None, "10.0.0.2"),  # a proxy that forwarded nothing is the client
    ("10.0.0.2", "203.0.113.9", "203.0.113.9"),
    ("10.0.0.2", "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # the left one the client wrote
    ("10.0.0.2", "203.0.113.9, 192.0.2.1", "203.0.113.9"),  # two proxies in a row
    ("10.0.0.2", "10.9.9.9, 192.0.2.1", "10.9.9.9"),  # all trusted: the left-most
    ("10.0.0.2", "203.0.113.9, not-an-address", "10.0.0.2"),  # unreadable: no further
    ("10.0.0.2", "", "10.0.0.2"),
    ("fd00::5", "2001:db8::7", "2001:db8::7"),
    ("::ffff:10.0.0.2", "::ffff:203.0.113.9", "203.0.113.9"),  # IPv4-mapped: IPv4
    ("", "203.0.113.9", ""),
])
def test_the_client_address(settings, peer, forwarded, client):
    settings.CHEXWEB_TRUSTED_PROXIES = trusted_proxies_parse(PROXIES)
    headers = {} if forwarded is None else {"HTTP_X_FORWARDED_FOR": forwarded}
    request = RequestFactory().get("/", REMOTE_ADDR=peer, **headers)
    assert client_address(request) == client


@pytest.mark.parametrize("value", ["10.0.0.1/8", "proxy.internal", "10.0.0.0/33"])
def test_a_malformed_proxy_is_refused(value):
    with pytest.raises(ImproperlyConfigured, match="CHEXWEB_TRUSTED_PROXIES"):
        trusted_proxies_parse(value)
