"""Where a callback may connect: the address rule, and the one resolution of a callback host.

A callback host is resolved once, when its URL is checked, and the delivery connects to the
address that check vetted (diagnoses.pinned_http), never to whatever the name resolves to a moment
later: a name that changes its answer in between (DNS rebinding) cannot aim the POST at this
server's own network.

An IPv6 address that carries an IPv4 address reaches that IPv4 address through a translator or a
tunnel, so it is judged by the IPv4 address it carries:
- IPv4-mapped  ::ffff:a.b.c.d
- 6to4         2002:aabb:ccdd::/48 (bits 16-47)
- Teredo       2001:0:<server>::<client>, the client's address stored XOR 0xffffffff (RFC 4380);
               both the server and the client must be public
- NAT64        64:ff9b::a.b.c.d (RFC 6052). The local-use prefix 64:ff9b:1::/48 (RFC 8215) is
               refused whatever it carries: it leads to a translator of the local network, and
               where the IPv4 address sits in it depends on how that translator is set up.
Other IPv4-embedding forms (IPv4-compatible ::a.b.c.d, SIIT ::ffff:0:a.b.c.d) lie in ::/8, which
is reserved and refused as such."""

import ipaddress
import socket

from django.core.exceptions import ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")


def callback_address_allowed(address: IPAddress) -> bool:
    """Whether a callback may connect to this address: public ones only, judged by the IPv4
    address an IPv6 address carries, if it carries one."""
    if address.version == 6:
        if address in NAT64_LOCAL_USE:
            return False
        carried = carried_ipv4(address)
        if carried:
            return all(_is_public(ipv4) for ipv4 in carried)
    return _is_public(address)


def carried_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address leads to (none for a plain IPv6 address)."""
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:  # (server, client), the client's bits already un-XORed
        return address.teredo
    if address in NAT64_WELL_KNOWN:
        return (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF),)
    return ()


def callback_host_vet(host: str, port: int) -> IPAddress:
    """Resolve a callback host once and return the address to connect to. The host is refused
    when it does not resolve, or when any of its addresses is not allowed: a name that answers
    with both kinds could be steered to either."""
    addresses = _resolve(host, port)
    for address in addresses:
        if not callback_address_allowed(address):
            raise ValidationError(
                f"The callback host {host} resolves to {address}, a private, loopback, "
                "link-local, multicast or reserved address; callbacks go to public addresses "
                "only.",
                code="callback_private",
            )
    return addresses[0]


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        infos = []
    if not infos:
        raise ValidationError(f"The callback host {host} could not be resolved.",
                              code="callback_unresolvable")
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def _is_public(address: IPAddress) -> bool:
    return address.is_global and not (
        address.is_private or address.is_loopback or address.is_link_local
        or address.is_multicast or address.is_reserved or address.is_unspecified
    )
