"""Who may use the model server's control paths that change its state (`/control/shutdown`).

Without a control token: only a peer on this machine (127.0.0.0/8, ::1, or 127.x as an
IPv4-mapped IPv6 address). With one (`--control-token`, env `GP_CONTROL_TOKEN`): only a request
with `Authorization: Bearer <token>`, wherever it comes from. Either way a request a browser
made (it carries `Origin` or `Sec-Fetch-Site`) is refused, so no web page open on this machine
can stop the server. The read-only control paths stay open to everyone.
"""

import hmac
import ipaddress
from collections.abc import Mapping

BROWSER_HEADERS = ("Origin", "Sec-Fetch-Site")


def is_loopback(host: str) -> bool:
    """Whether a peer address (as `socket.getpeername()` gives it) is this machine's loopback."""
    try:
        address = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def refusal_reason(peer_host: str, headers: Mapping[str, str], token: str | None) -> str | None:
    """Why a state-changing control request is refused; None when it may go ahead."""
    if any(headers.get(name) is not None for name in BROWSER_HEADERS):
        return "control requests from a web browser are refused"
    if token:
        scheme, _, presented = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(),
                                                              token.encode()):
            return None
        return "this control path needs Authorization: Bearer <the server's control token>"
    if is_loopback(peer_host):
        return None
    return "this control path answers only this machine (or set a control token)"
