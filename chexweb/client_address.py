"""The client's address: one definition, for the API throttle and the log-in lockout (django-axes).

Behind a reverse proxy every connection comes from the proxy, so REMOTE_ADDR is the proxy's address
and the client's is in X-Forwarded-For, a header anyone can also write. The header is read only
when the connecting peer is one of CHEXWEB_TRUSTED_PROXIES (addresses or networks; none by
default), and from the right: each proxy appends the address it saw, so the right-most address
that is not a trusted proxy is the client. An address written by the client itself stands left of
it and is never used. An entry that is not an address stops the walk at the last hop trusted.
"""

import ipaddress

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_proxies_parse(value: str) -> tuple[Network, ...]:
    """`10.0.0.5, 172.18.0.0/16, fd00::/8`: each an address or a network without host bits."""
    networks = []
    for item in value.split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip()))
            except ValueError as error:
                raise ImproperlyConfigured(
                    f"CHEXWEB_TRUSTED_PROXIES: {item.strip()!r} is not an address or a "
                    f"network ({error})") from None
    return tuple(networks)


def client_address(request) -> str:
    """The client's address as text (an IPv4-mapped IPv6 address as IPv4); REMOTE_ADDR as it
    is when the server gave none that parses."""
    remote_addr = request.META.get("REMOTE_ADDR", "")
    client = _address(remote_addr)
    if client is None:
        return remote_addr
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    while _trusted(client) and forwarded:
        hop = _address(forwarded.pop())
        if hop is None:
            break
        client = hop
    return str(client)


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address) -> bool:
    return any(address in network for network in settings.CHEXWEB_TRUSTED_PROXIES)
