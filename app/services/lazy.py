"""Package front doors that load on first use.

Each service package (``ledger``, ``loans``, ``auctions`` ...) names its public API in
its ``__init__``; the names are imported from their submodules only when first asked
for. A module low in the layering can then import a package's rules
(``app.services.kyc.rules``) without pulling in the package's service and everything
that service imports (which would import it back).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, public: Mapping[str, Iterable[str]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``public`` maps each submodule to the
    names the package offers from it."""
    where = {name: sub for sub, names in public.items() for name in names}

    def __getattr__(name: str) -> Any:
        sub = where.get(name)
        if sub is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{sub}"), name)

    return __getattr__
