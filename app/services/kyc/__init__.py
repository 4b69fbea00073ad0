"""KYC: PAN, Aadhaar and bank details checked, sealed and decided."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.services.lazy import lazy_exports

if TYPE_CHECKING:
    from app.services.kyc.documents import Checked, DocumentRefused
    from app.services.kyc.rules import FieldVerdict
    from app.services.kyc.service import (
        CaptureForm,
        DocumentCheck,
        KycRecord,
        KycService,
        QueueRow,
        StoredDocument,
    )

__all__ = [
    "CaptureForm",
    "Checked",
    "DocumentCheck",
    "DocumentRefused",
    "FieldVerdict",
    "KycRecord",
    "KycService",
    "QueueRow",
    "StoredDocument",
]
__getattr__ = lazy_exports(
    __name__,
    {
        "documents": ["Checked", "DocumentRefused"],
        "rules": ["FieldVerdict"],
        "service": [
            "CaptureForm",
            "DocumentCheck",
            "KycRecord",
            "KycService",
            "QueueRow",
            "StoredDocument",
        ],
    },
)
