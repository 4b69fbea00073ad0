"""Which views a signed-in person sees, in navigation order, under the navigation's
sections (:data:`SECTIONS`)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.services.actors import Actor
from app.services.registry import Services
from app.views.activity import ActivityView
from app.views.auction_control import AuctionControlView
from app.views.audit import AuditView
from app.views.capital import CapitalView
from app.views.collections import CollectionsView
from app.views.dashboard import DashboardView
from app.views.group_detail import GroupDetailView
from app.views.group_new import GroupNewView
from app.views.groups import GroupOverviewView
from app.views.kpi_dashboard import KpiDashboardView
from app.views.kyc import KycQueueView
from app.views.kyc_capture import KycCaptureView
from app.views.loan_inbox import LoanInboxView
from app.views.member_profile import MemberProfileView
from app.views.members import MembersView
from app.views.navigation import view_name
from app.views.payouts import PayoutsView
from app.views.recovery_board import RecoveryBoardView
from app.views.reports import ReportsView
from app.views.staff_admin import StaffAdminView
from app.views.statement_import import StatementImportView

SECTIONS: dict[str, tuple[str, ...]] = {
    "Office": (
        "dashboard",
        "kyc-queue",
        "loan-inbox",
        "auctions",
        "activity",
        "members",
        "member-profile",
        "kyc-capture",
        "group-new",
    ),
    "Money": ("collections", "statement-import", "payouts", "capital", "recovery"),
    "Oversight": ("kpis", "groups", "group-detail", "audit", "reports", "staff"),
}
"""The navigation's sections in order, with the views (by name) each holds in order. A
view not named here follows the view listed before it, in its section (a page follows
its list)."""


def section_of(name: str, before: str | None = None) -> str:
    """The section of the view called ``name``; ``before``: that of the view before it."""
    for section, names in SECTIONS.items():
        if name in names:
            return section
    return before or next(iter(SECTIONS))


def lists_before(name: str) -> list[str]:
    """The views named before ``name`` in its section, nearest first: a page's list."""
    for names in SECTIONS.values():
        if name in names:
            return list(reversed(names[: names.index(name)]))
    return []


def _place(name: str) -> tuple[int, int] | None:
    """Where :data:`SECTIONS` puts the view ``name``: (section, position), if it names it."""
    for section, names in enumerate(SECTIONS.values()):
        if name in names:
            return section, names.index(name)
    return None


def in_sections(views: list[QWidget]) -> list[QWidget]:
    """``views`` in navigation order: by section, and within a section in the order
    :data:`SECTIONS` gives, whatever order they were built in. A view it does not name
    keeps its place after the view given before it."""
    keyed, place = [], (0, -1)
    for given, view in enumerate(views):
        place = _place(view_name(view)) or place
        keyed.append((place, given, view))
    return [view for *_, view in sorted(keyed, key=lambda row: row[:2])]


def views_for(services: Services, actor: Actor) -> list[QWidget]:
    """Employees get the daily work; admins (and the screenshot tool's platform actor)
    also get oversight: KPIs, groups, the audit trail, reports and staff accounts.
    Auditors get the oversight views that only read (and the reports they export)."""
    if actor.reads_only:
        return [
            AuditView(services),
            ReportsView(services, actor),
            KpiDashboardView(services, actor),
            GroupOverviewView(services, actor),
            GroupDetailView(services, actor),
        ]
    views: list[QWidget] = [
        DashboardView(services, actor),
        KycQueueView(services, actor),
        KycCaptureView(services, actor),
        LoanInboxView(services, actor),
        RecoveryBoardView(services, actor),
        AuctionControlView(services, actor),
        ActivityView(services),
        GroupNewView(services, actor),
        PayoutsView(services, actor),
        CapitalView(services, actor),
        MembersView(services, actor),
        MemberProfileView(services, actor),
        CollectionsView(services, actor),
        StatementImportView(services, actor),
    ]
    if actor.role in ("admin", "system"):
        views += [
            KpiDashboardView(services, actor),
            GroupOverviewView(services, actor),
            AuditView(services),
            ReportsView(services, actor),
            StaffAdminView(services, actor),
        ]
    views += [GroupDetailView(services, actor)]
    return in_sections(views)
