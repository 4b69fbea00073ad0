"""The registry builds every service once and hands each the others it needs: no service
builds another for itself."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import get_type_hints

import pytest

from app.services.context import ServiceContext
from app.services.registry import Services
from tests.builders import services_of

SERVICES = Path(__file__).resolve().parent.parent / "app" / "services"
# The registry builds them; the demo generator seeds a data directory of its own,
# outside any running process, and wires its own set the same way.
BUILDERS = {SERVICES / "registry.py", *(SERVICES / "demo").glob("*.py")}


@pytest.fixture
def services(ctx: ServiceContext) -> Iterator[Services]:
    built = services_of(ctx)
    yield built
    built.close()


def test_the_services_share_one_ledger_one_gate_and_one_member_service(
    services: Services,
) -> None:
    assert services.gate.ledger is services.ledger
    assert services.recovery.ledger is services.ledger
    assert services.kpis.ledger is services.ledger
    assert services.desk.ledger is services.ledger
    assert services.loans.gate is services.gate
    assert services.otp.members is services.members


def test_no_service_module_builds_a_service_itself() -> None:
    kinds = {
        hint.__name__
        for hint in get_type_hints(Services).values()
        if isinstance(hint, type) and hint.__module__.startswith("app.services")
    }
    assert {"LedgerService", "BankersGate", "MemberService", "StaffService"} <= kinds
    built = []
    for path in sorted(SERVICES.rglob("*.py")):
        if path in BUILDERS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in kinds
            ):
                built.append(f"{path.relative_to(SERVICES)}:{node.lineno} {node.func.id}")
    assert built == []
