"""Strict parsers of the DICOM settings: our listening address and AE title, the peer nodes
(`AE@host:port`, comma-separated) and which of them get our results. A malformed value is refused
at start-up, never guessed at."""

import re
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

# PS3.5 AE: 1-16 characters of the default repertoire, no backslash, no control characters,
# not only spaces. We also refuse leading and trailing spaces (they are not significant).
_AE_TITLE = re.compile(r"[\x21-\x5b\x5d-\x7e]([\x20-\x5b\x5d-\x7e]{0,14}[\x21-\x5b\x5d-\x7e])?")
_HOST = re.compile(r"[A-Za-z0-9.\-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")


@dataclass(frozen=True)
class DicomNode:
    ae_title: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"


def ae_title_parse(name: str, value: str) -> str:
    if not _AE_TITLE.fullmatch(value):
        raise ImproperlyConfigured(
            f"{name} must be a DICOM AE title (1-16 printable characters, no backslash, no "
            f"leading or trailing space), got {value!r}")
    return value


def listen_parse(name: str, value: str) -> tuple[str, int]:
    """`host:port`."""
    host, separator, port = value.rpartition(":")
    if not separator or not _HOST.fullmatch(host):
        raise ImproperlyConfigured(f"{name} must be host:port, got {value!r}")
    return host.strip("[]"), _port(name, port, value)


def peers_parse(name: str, value: str) -> dict[str, DicomNode]:
    """`AE@host:port,AE@host:port` -> {AE: node}; an AE title named twice is refused."""
    peers: dict[str, DicomNode] = {}
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        ae_title, at, address = item.partition("@")
        if not at:
            raise ImproperlyConfigured(f"{name}: each peer is AE@host:port, got {item!r}")
        host, port = listen_parse(name, address)
        ae_title = ae_title_parse(name, ae_title)
        if ae_title in peers:
            raise ImproperlyConfigured(f"{name}: the AE title {ae_title!r} is named twice")
        peers[ae_title] = DicomNode(ae_title, host, port)
    return peers


def send_to_parse(name: str, value: str, peers: dict[str, DicomNode]) -> list[DicomNode]:
    """AE titles, comma-separated, each one of the peers."""
    nodes = []
    for ae_title in (part.strip() for part in value.split(",")):
        if not ae_title:
            continue
        if ae_title not in peers:
            raise ImproperlyConfigured(f"{name}: {ae_title!r} is not one of CHEXWEB_DICOM_PEERS "
                                       f"({', '.join(peers) or 'none'})")
        if peers[ae_title] not in nodes:
            nodes.append(peers[ae_title])
    return nodes


def dicomweb_urls_parse(name: str, value: str) -> list[str]:
    """DICOMweb base URLs (their `/studies` takes STOW-RS), comma-separated."""
    urls = [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
    for url in urls:
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url):
            raise ImproperlyConfigured(f"{name} must be http:// or https:// URLs, "
                                       f"comma-separated, got {url!r}")
    return urls


def _port(name: str, port: str, value: str) -> int:
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ImproperlyConfigured(f"{name}: the port must be 1-65535, got {value!r}")
    return int(port)
