from __future__ import annotations

from services.gateway.client_ip import client_ip, parse_networks


def scope(peer: str, forwarded: str | None = None) -> dict:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"client": (peer, 5000), "headers": headers}


def test_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    assert client_ip(scope("198.51.100.7", "1.2.3.4"), []) == "198.51.100.7"
    trusted = parse_networks(["10.0.0.0/8"])
    assert client_ip(scope("198.51.100.7", "1.2.3.4"), trusted) == "198.51.100.7"


def test_trusted_proxy_chain_yields_the_first_untrusted_hop_from_the_right() -> None:
    trusted = parse_networks(["10.0.0.0/8", "127.0.0.1"])
    # The client may put anything on the left; only hops added by our proxies count.
    spoofed = "6.6.6.6, 203.0.113.9, 10.1.2.3"
    assert client_ip(scope("127.0.0.1", spoofed), trusted) == "203.0.113.9"
    assert client_ip(scope("10.0.0.1"), trusted) == "10.0.0.1"
    assert client_ip(scope("10.0.0.1", "garbage, 10.0.0.2"), trusted) == "garbage"
