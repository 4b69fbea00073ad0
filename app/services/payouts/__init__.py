"""Prize payouts: the statutory clock, security, maker-checker release, advances."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.services.lazy import lazy_exports

if TYPE_CHECKING:
    from app.services.payouts.clock import PrizeClock
    from app.services.payouts.reads import (
        ALL,
        AWAITING,
        RELEASED_ONLY,
        SHOWS,
        AdvanceRow,
        GateView,
        PayoutBoard,
        PayoutDetail,
        PayoutRow,
    )
    from app.services.payouts.release import PayoutRelease
    from app.services.payouts.security import KINDS, SecurityCheck, check_security
    from app.services.payouts.service import PayoutService

__all__ = [
    "ALL",
    "AWAITING",
    "KINDS",
    "RELEASED_ONLY",
    "SHOWS",
    "AdvanceRow",
    "GateView",
    "PayoutBoard",
    "PayoutDetail",
    "PayoutRelease",
    "PayoutRow",
    "PayoutService",
    "PrizeClock",
    "SecurityCheck",
    "check_security",
]
__getattr__ = lazy_exports(
    __name__,
    {
        "clock": ["PrizeClock"],
        "reads": [
            "ALL",
            "AWAITING",
            "RELEASED_ONLY",
            "SHOWS",
            "AdvanceRow",
            "GateView",
            "PayoutBoard",
            "PayoutDetail",
            "PayoutRow",
        ],
        "release": ["PayoutRelease"],
        "security": ["KINDS", "SecurityCheck", "check_security"],
        "service": ["PayoutService"],
    },
)
