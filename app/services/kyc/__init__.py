"""KYC: PAN, Aadhaar and bank details checked, sealed and decided."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.services.lazy import lazy_exports

if TYPE_CHECKING:
    from app.services.kyc.service import (
        DocumentCheck,
        KycRecord,
        KycService,
        QueueRow,
        StoredDocument,
    )

__all__ = ["DocumentCheck", "KycRecord", "KycService", "QueueRow", "StoredDocument"]
__getattr__ = lazy_exports(
    __name__,
    {"service": ["DocumentCheck", "KycRecord", "KycService", "QueueRow", "StoredDocument"]},
)
