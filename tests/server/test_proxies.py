"""The client address behind trusted proxies (X-Forwarded-For read right to left)."""

from __future__ import annotations

import pytest

from app import config
from app.kernel.errors import ValidationError
from server.proxies import TrustedProxies

PROXIES = TrustedProxies.from_setting("10.0.0.5, 192.168.0.0/16, 2001:db8::/32")


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert TrustedProxies().client("203.0.113.7", ["198.51.100.1"]) == "203.0.113.7"
    assert TrustedProxies().client(None, []) == "unknown"


def test_an_untrusted_peer_cannot_name_another_client() -> None:
    assert PROXIES.client("203.0.113.7", ["10.0.0.5, 198.51.100.1"]) == "203.0.113.7"


def test_the_rightmost_untrusted_hop_is_the_client() -> None:
    assert PROXIES.client("10.0.0.5", ["203.0.113.7"]) == "203.0.113.7"
    assert PROXIES.client("10.0.0.5", ["1.2.3.4, 203.0.113.7, 192.168.4.4"]) == "203.0.113.7"
    assert PROXIES.client("10.0.0.5", ["1.2.3.4", "203.0.113.7,192.168.1.1"]) == "203.0.113.7"
    assert PROXIES.client("::ffff:10.0.0.5", ["2001:db8::9, 198.51.100.2"]) == "198.51.100.2"
    assert PROXIES.client("2001:db8::1", ["2001:db9::7"]) == "2001:db9::7"


def test_odd_forwarded_for_values() -> None:
    assert PROXIES.client("10.0.0.5", []) == "10.0.0.5"
    assert PROXIES.client("10.0.0.5", [" , "]) == "10.0.0.5"
    assert PROXIES.client("10.0.0.5", ["192.168.1.1, 10.0.0.5"]) == "192.168.1.1"
    assert PROXIES.client("10.0.0.5", ["203.0.113.7, unknown"]) == "unknown"


def test_the_setting_is_checked_when_loaded() -> None:
    assert config.load(environ={"TFOS_TRUSTED_PROXIES": "10.0.0.1, ::1"}).trusted_proxies
    with pytest.raises(ValidationError, match=r"trusted_proxies: 'proxy\.local'"):
        config.load(environ={"TFOS_TRUSTED_PROXIES": "10.0.0.1, proxy.local"})
    assert config.parse_networks("10.1.2.3/8")[0].prefixlen == 8
