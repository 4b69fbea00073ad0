"""The auction room: sessions, bids, lots and the settlement of each period."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.services.lazy import lazy_exports

if TYPE_CHECKING:
    from app.services.auctions.model import CLOSED, OPEN, Auction, Bid, Closed, Terms
    from app.services.auctions.service import (
        AuctionService,
        BidderStatus,
        BidResult,
        LotCheck,
        Room,
    )

__all__ = [
    "CLOSED",
    "OPEN",
    "Auction",
    "AuctionService",
    "Bid",
    "BidResult",
    "BidderStatus",
    "Closed",
    "LotCheck",
    "Room",
    "Terms",
]
__getattr__ = lazy_exports(
    __name__,
    {
        "service": ["AuctionService", "BidResult", "BidderStatus", "LotCheck", "Room"],
        "model": ["Auction", "Bid", "CLOSED", "Closed", "OPEN", "Terms"],
    },
)
