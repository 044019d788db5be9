"""The client's IP address, believing X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from litestar.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _trusted(address: str, networks: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(scope: Scope, trusted: list[Network]) -> str:
    """The peer address, or — when the peer is a trusted proxy — the right-most address
    in X-Forwarded-For that is not itself a trusted proxy."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if not trusted or not _trusted(peer, trusted):
        return peer
    forwarded = b",".join(v for k, v in scope["headers"] if k == b"x-forwarded-for").decode(
        "latin-1"
    )
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if not _trusted(hop, trusted):
            return hop
    return peer
