"""Demo data: a consistent history made through the services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.services.lazy import lazy_exports

if TYPE_CHECKING:
    from app.services.demo.seed import generate, seed_if_empty

__all__ = ["generate", "seed_if_empty"]
__getattr__ = lazy_exports(__name__, {"seed": ["generate", "seed_if_empty"]})
