"""Real parts some tests drive: the system Chromium, an X server (xvfb-run).

``make test`` installs them and sets ``TFOS_REQUIRE_<PART>=1`` (tests/with-keyring.sh):
there a missing part fails the tests that need it, as a missing Secret Service does.
Run by hand without them, those tests are skipped with the reason.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def required(part: str) -> bool:
    """Whether the test run says ``part`` must be present (``TFOS_REQUIRE_<PART>``)."""
    return bool(os.environ.get(f"TFOS_REQUIRE_{part.upper()}"))


def missing(part: str, what: str) -> NoReturn:
    """Fail when ``part`` is required, else skip; ``what`` says what is missing."""
    if required(part):
        pytest.fail(f"{what}, and this run requires it (TFOS_REQUIRE_{part.upper()}=1)")
    pytest.skip(f"{what} (make test installs it)")
