"""Which views a signed-in person sees, in navigation order."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.services.actors import Actor
from app.services.registry import Services
from app.views.activity import ActivityView
from app.views.auction_control import AuctionControlView
from app.views.audit import AuditView
from app.views.collections import CollectionsView
from app.views.dashboard import DashboardView
from app.views.groups import GroupOverviewView
from app.views.kpi_dashboard import KpiDashboardView
from app.views.kyc import KycQueueView
from app.views.loan_inbox import LoanInboxView
from app.views.recovery_board import RecoveryBoardView
from app.views.reports import ReportsView
from app.views.staff_admin import StaffAdminView
from app.views.statement_import import StatementImportView


def views_for(services: Services, actor: Actor) -> list[QWidget]:
    """Employees get the daily work; admins (and the screenshot tool's platform actor)
    also get oversight: KPIs, groups, the audit trail, reports and staff accounts."""
    views: list[QWidget] = [
        DashboardView(services, actor),
        KycQueueView(services, actor),
        LoanInboxView(services, actor),
        RecoveryBoardView(services, actor),
        AuctionControlView(services, actor),
        ActivityView(services),
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
    return views
