"""The real client address behind the reverse proxies named in ``--trusted-proxies``.

A proxy appends the address it received a request from to ``X-Forwarded-For``, so the
header reads ``client, proxy1, proxy2`` and only its right end is trustworthy: whatever
the client sent sits on the left. The client is therefore the rightmost entry that is
not itself a trusted proxy, and the header counts only when the TCP peer is one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from app.config import Network, parse_networks


class TrustedProxies:
    """The proxies whose ``X-Forwarded-For`` is believed (none by default)."""

    def __init__(self, networks: Sequence[Network] = ()) -> None:
        self.networks = tuple(networks)

    @classmethod
    def from_setting(cls, text: str) -> TrustedProxies:
        return cls(parse_networks(text))

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    def client(self, peer: str | None, forwarded_for: Sequence[str]) -> str:
        """The client's address, given the TCP peer and every ``X-Forwarded-For`` value.

        Hops are read right to left, skipping trusted proxies; an entry that is not an
        address (``unknown``, a typo) ends the walk like any other client address. If
        every hop is trusted, the leftmost one is the client.
        """
        if not peer:
            return "unknown"
        client = peer
        if not self.trusts(peer):
            return client
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        for hop in reversed([h for h in hops if h]):
            client = hop
            if not self.trusts(hop):
                break
        return client
