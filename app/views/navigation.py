"""Moving between views: a register row opens a profile, a group row its detail.

A view names itself with ``name`` (a slug: ``"member-profile"``, also its screenshot's
file name) and may be a *page*: reached by drilling down (``in_nav = False``), not
listed in the navigation. A page shows one item: it implements ``show_item(**params)``
(``member_id=...``) and, for ``--screenshots``, ``show_example()`` to pick one itself.

A view asks to go somewhere with :func:`go`; the window that holds it does the routing,
so views never know each other.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from PySide6.QtWidgets import QWidget


@runtime_checkable
class Navigator(Protocol):
    def go(self, name: str, **params: Any) -> None:
        """Show the view called ``name`` (with ``params``: the item it should show)."""
        ...


def view_name(view: QWidget) -> str:
    """The view's slug: its ``name``, else its title in lower case with dashes."""
    name = getattr(view, "name", None)
    return str(name or getattr(view, "title", view.objectName())).lower().replace(" ", "-")


def go(origin: QWidget, name: str, **params: Any) -> None:
    """From ``origin``, show the view ``name`` (a no-op outside a navigating window)."""
    window = origin.window()
    if isinstance(window, Navigator):
        window.go(name, **params)
