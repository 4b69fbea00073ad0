"""Builders for the view tests that need Qt: a real PNG, a member with a KYC submitted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QColor, QImage

from tests.builders import ACCOUNT, ADMIN, EMPLOYEE, PDF, aadhaar, pan

if TYPE_CHECKING:
    from app.bootstrap import Runtime


def png_bytes(colour: str = "#88aadd") -> bytes:
    image = QImage(120, 80, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs say bytes
    return bytes(buffer.data().data())


def submit_kyc(runtime: Runtime, name: str, phone: str, seed: int) -> str:
    """Enrol a member and submit a valid KYC for them as :data:`~tests.builders.EMPLOYEE`."""
    services = runtime.services
    member = services.members.enroll(ADMIN, name, phone)
    services.kyc.submit(
        EMPLOYEE,
        member.id,
        name=name,
        phone=phone,
        pan=pan(seed),
        aadhaar=aadhaar(seed),
        account_number=ACCOUNT,
        ifsc="SBIN0001234",
        documents=[("pan.png", png_bytes(), "image/png"), ("aadhaar.pdf", PDF, "application/pdf")],
    )
    return member.id
