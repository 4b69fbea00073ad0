"""Rupee amounts as people in India read them: 50000000 paise -> "₹5,00,000.00".

Lives in the kernel so that kernel messages (the Banker's algorithm's refusals) and the
services format money the same way; ``app.services.money`` re-exports it.
"""

from __future__ import annotations

PAISE_PER_RUPEE = 100


def group_indian(whole: int) -> str:
    """Group a non-negative integer the Indian way: 1234567 -> ``"12,34,567"``."""
    digits = str(whole)
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    pairs: list[str] = []
    while len(head) > 2:
        pairs.insert(0, head[-2:])
        head = head[:-2]
    return ",".join([head, *pairs, tail])


def format_inr(paise: int, *, symbol: bool = True) -> str:
    """Format paise with Indian digit grouping: 50000000 -> ``"₹5,00,000.00"``.

    Negative amounts put the sign before the symbol: ``"-₹1,000.00"``.
    """
    sign = "-" if paise < 0 else ""
    whole, frac = divmod(abs(paise), PAISE_PER_RUPEE)
    mark = "₹" if symbol else ""
    return f"{sign}{mark}{group_indian(whole)}.{frac:02d}"
