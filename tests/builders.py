"""Data the tests share: the staff who act, and valid KYC details and documents."""

from __future__ import annotations

from app.services.actors import Actor
from app.services.kyc_rules import verhoeff_check_digit

ADMIN = Actor("u-admin", "Asha Admin", "admin")
ADMIN2 = Actor("u-admin2", "Kiran Admin", "admin")
EMPLOYEE = Actor("u-emp", "Ravi Employee", "employee")
EMPLOYEE2 = Actor("u-emp2", "Meena Employee", "employee")

AADHAAR = "521185133376"
PAN = "ABCPD1234E"
ACCOUNT = "000123456789"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64, 128))
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def aadhaar(seed: int) -> str:
    """A valid Aadhaar number, different for each ``seed``."""
    body = f"{2 + seed % 8}{seed:010d}"
    return body + verhoeff_check_digit(body)
