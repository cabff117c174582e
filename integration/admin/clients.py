"""Which client is asking: the peer address, or what a *configured* proxy says it forwarded.

`X-Forwarded-For` is a header anyone can send. It is believed only when the request came
from a proxy the operator listed in `FLOWKEEPER_TRUSTED_PROXIES`, and then only the hops
those proxies appended: the right-most address that is not itself a trusted proxy.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

Network = IPv4Network | IPv6Network


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        parsed = ip_address(address.strip())
    except ValueError:
        return False
    return any(parsed in network for network in proxies)


def client_address(peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    """The client's address as far as the configured proxies vouch for it (pure)."""
    address = peer or "unknown"
    if not proxies or not _trusted(address, proxies):
        return address
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop[:64]
        address = hop
    return address[:64]
