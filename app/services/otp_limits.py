"""The limits on member sign-in: how often codes may be asked for and guessed, by whom.

They are set so that a stranger can neither guess a code nor keep a member out:

* **a number, from all networks together**: 5 codes in 5 minutes. This caps the texts
  one number receives; a crowd of strangers can hold a member up for 5 minutes at most.
* **a number, from one network**: 3 codes in 15 minutes. One stranger stops here,
  long before the member (on another network) is affected.
* **one network**: 10 codes in 15 minutes, *not counting requests that ended in a
  sign-in*, so members behind one office router or mobile carrier do not share a budget
  while a stranger trying numbers does.
* **wrong codes from one network**: 20 in an hour, over all numbers.

Wrong tries of one code are counted per network as well (see :mod:`app.services.otp`),
so a stranger's guesses never void the member's code on the member's own network.

A network is an IPv4 address, or the /64 an IPv6 address belongs to (one subscriber's
allocation: changing the low bits does not make a new network).

Each limit keeps the recent event times of one key in ``otp_limits/{kind}-{hmac}``. It is
read in the same pipeline transaction that records its event, so concurrent requests
conflict and retry: a limit is never overshot.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.kernel.errors import KnownError
from app.services.collections import OTP_LIMITS
from app.services.pipeline import Reader
from app.services.store import Write

LIMITS = OTP_LIMITS


class TooManyRequests(KnownError):
    """A rate limit was reached; ``retry_after`` says how many seconds to wait."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, *, hint: str = "") -> None:
        super().__init__(message, hint=hint or f"Try again in {wait_text(retry_after)}.")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events per ``window``."""

    count: int
    window: timedelta


@dataclass(frozen=True)
class OtpLimits:
    per_phone: Limit = Limit(5, timedelta(minutes=5))
    per_phone_network: Limit = Limit(3, timedelta(minutes=15))
    per_network: Limit = Limit(10, timedelta(minutes=15))
    wrong_codes_per_network: Limit = Limit(20, timedelta(hours=1))


def network_of(address: str) -> str:
    """The network a client address stands for (anything not an address stands for
    itself, cut to 100 characters)."""
    text = address.strip()
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text[:100] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(frozen=True)
class Counter:
    """One limit applied to one key; ``what`` names the events for the refusal."""

    doc_id: str
    kind: str
    limit: Limit
    what: str

    def check(self, reader: Reader, now: datetime) -> list[str]:
        """The recent event times; raises when the limit is reached."""
        doc = reader.get(LIMITS, self.doc_id)
        times = _recent(doc.data if doc else {}, now, self.limit.window)
        if len(times) >= self.limit.count:
            raise self._refusal(times, now)
        return times

    def record(self, reader: Reader, now: datetime) -> Write:
        """The write that counts one more event; raises when the limit is reached."""
        times = self.check(reader, now)
        return Write(
            "set", LIMITS, self.doc_id, {"kind": self.kind, "times": [*times, now.isoformat()]}
        )

    def refund(self, reader: Reader, now: datetime) -> Write | None:
        """The write that takes back the newest event (None when there is none)."""
        doc = reader.get(LIMITS, self.doc_id)
        times = _recent(doc.data if doc else {}, now, self.limit.window)
        if not times:
            return None
        return Write("set", LIMITS, self.doc_id, {"kind": self.kind, "times": times[:-1]})

    def _refusal(self, times: list[str], now: datetime) -> TooManyRequests:
        oldest = min(datetime.fromisoformat(t) for t in times)
        wait = max(1, int(-(-(oldest + self.limit.window - now).total_seconds() // 1)))
        period = wait_text(self.limit.window.total_seconds())
        return TooManyRequests(
            f"Too many {self.what}: at most {self.limit.count} in {period}.", wait
        )


class Limiter:
    """The counters of :class:`OtpLimits`, keyed by ``mac`` so no number or address
    shows in the store."""

    def __init__(self, limits: OtpLimits, mac: Callable[[str], str]) -> None:
        self.limits = limits
        self._mac = mac

    def request(self, reader: Reader, phone_key: str, network: str, now: datetime) -> list[Write]:
        """Count one code asked for ``phone_key`` from ``network`` (refused, and nothing
        counted, when any of the three request limits is reached)."""
        counters = (
            self.phone(phone_key),
            self.phone_network(phone_key, network),
            self.network(network),
        )
        return [counter.record(reader, now) for counter in counters]

    def phone(self, phone_key: str) -> Counter:
        return Counter(
            f"phone-{phone_key}", "phone", self.limits.per_phone, "sign-in codes for this number"
        )

    def phone_network(self, phone_key: str, network: str) -> Counter:
        return self._counter(
            "phone-network",
            f"{phone_key}|{network}",
            self.limits.per_phone_network,
            "sign-in codes for this number from this network",
        )

    def network(self, network: str) -> Counter:
        what = "sign-in codes asked for from this network"
        return self._counter("network", network, self.limits.per_network, what)

    def wrong_codes(self, network: str) -> Counter:
        what = "wrong codes from this network"
        return self._counter("wrong", network, self.limits.wrong_codes_per_network, what)

    def _counter(self, kind: str, key: str, limit: Limit, what: str) -> Counter:
        return Counter(f"{kind}-{self._mac('limit:' + key)[:32]}", kind, limit, what)


def _recent(data: dict[str, Any], now: datetime, window: timedelta) -> list[str]:
    """Event times (ISO text) still inside ``window``."""
    start = now - window
    return [t for t in data.get("times", []) if datetime.fromisoformat(t) > start]


def wait_text(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if seconds >= 60:
        minutes = -(-seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
