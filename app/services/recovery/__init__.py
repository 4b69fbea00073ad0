"""Default recovery: cases, the seven-stage pipeline, the board."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.services.lazy import lazy_exports

if TYPE_CHECKING:
    from app.services.recovery.rules import Stage
    from app.services.recovery.service import (
        STAGES,
        Board,
        Card,
        Case,
        RecoveryService,
        SweepResult,
    )

__all__ = ["STAGES", "Board", "Card", "Case", "RecoveryService", "Stage", "SweepResult"]
__getattr__ = lazy_exports(
    __name__,
    {
        "service": ["Board", "Card", "Case", "RecoveryService", "STAGES", "SweepResult"],
        "rules": ["Stage"],
    },
)
