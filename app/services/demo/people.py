"""Made-up people for demo data: Indian names and valid, unique personal numbers.

Every number passes the KYC rules (:mod:`app.services.kyc.rules`): mobile numbers
``+91 9XXXXXXXXX``, individual PANs (4th letter ``P``, 5th the surname's initial),
Aadhaar numbers with a Verhoeff check digit, IFSCs of real bank codes and 11 to 14
digit account numbers. They are drawn from a seeded ``random.Random``, so a seed
always gives the same people. None of them belongs to anyone.
"""

from __future__ import annotations

import random
import string
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from app.services.kyc.rules import verhoeff_check_digit


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Aarav Aditi Akash Ananya Anil Anjali Arjun Asha Deepak Divya Farhan Gaurav Geeta Harish "
    "Isha Jaya Karan Kavya Kiran Lakshmi Mahesh Meena Mohan Neha Nikhil Pooja Pradeep Priya "
    "Rahul Rajesh Ramesh Rekha Rohit Sandeep Sanjay Savitri Shalini Sunil Sunita Suresh "
    "Tanvi Usha Varun Vidya Vijay Vikram Yamini Zoya Imran Fatima Joseph Mary Gurpreet Harpreet"
)
SURNAMES = _words(
    "Agarwal Bhat Chatterjee Desai Fernandes Ghosh Gupta Iyer Jain Joshi Kapoor Khan Kulkarni "
    "Kumar Menon Mehta Mishra Nair Naidu Pandey Patel Pillai Rao Reddy Saxena Shah Sharma "
    "Singh Sinha Srinivasan Thakur Tiwari Varma Yadav Banerjee Chopra Dutta Hegde Mukherjee Shetty"
)
BANKS = ("SBIN", "HDFC", "ICIC", "UTIB", "PUNB", "CNRB", "BARB", "KKBK", "IDIB", "UBIN")
CITIES = ("Chennai", "Coimbatore", "Madurai", "Bengaluru", "Mysuru", "Kochi", "Hyderabad", "Pune")


@dataclass(frozen=True)
class Person:
    """One made-up member with everything a KYC submission needs (all valid)."""

    name: str
    phone: str
    pan: str
    aadhaar: str
    account_number: str
    ifsc: str

    @property
    def bank(self) -> str:
        return self.ifsc[:4]

    def __repr__(self) -> str:
        return f"Person({self.name!r}, {self.phone[-4:]})"


class PeopleFactory:
    """Draws people with unique names, mobile numbers, PANs and Aadhaar numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._phones: set[str] = set()
        self._pans: set[str] = set()
        self._aadhaars: set[str] = set()
        self._names: set[str] = set()

    def person(self) -> Person:
        name = self._name()
        return Person(
            name=name,
            phone=self._unique(self._phones, self._phone),
            pan=self._unique(self._pans, lambda: self._pan(name)),
            aadhaar=self._unique(self._aadhaars, self._aadhaar),
            account_number="".join(self.rng.choices(string.digits, k=self.rng.randint(11, 14))),
            ifsc=self._ifsc(),
        )

    def people(self, count: int) -> list[Person]:
        return [self.person() for _ in range(count)]

    @staticmethod
    def _unique(seen: set[str], draw: Callable[[], str]) -> str:
        while (value := draw()) in seen:
            pass
        seen.add(value)
        return value

    def _name(self) -> str:
        """A first name and surname; a middle initial tells namesakes apart."""
        base = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(SURNAMES)}"
        name = base
        while name in self._names:
            first, last = base.split()
            name = f"{first} {self.rng.choice(string.ascii_uppercase)}. {last}"
        self._names.add(name)
        return name

    def _phone(self) -> str:
        return "+919" + "".join(self.rng.choices(string.digits, k=9))

    def _pan(self, name: str) -> str:
        letters = "".join(self.rng.choices(string.ascii_uppercase, k=3))
        digits = "".join(self.rng.choices(string.digits, k=4))
        last = self.rng.choice(string.ascii_uppercase)
        return f"{letters}P{name.split()[-1][0].upper()}{digits}{last}"

    def _aadhaar(self) -> str:
        body = str(self.rng.randint(2, 9)) + "".join(self.rng.choices(string.digits, k=10))
        return body + verhoeff_check_digit(body)

    def _ifsc(self) -> str:
        branch = "".join(self.rng.choices(string.digits, k=6))
        return f"{self.rng.choice(BANKS)}0{branch}"


def kyc_pdf(person: Person, member_id: str) -> bytes:
    """A small one-page PDF standing in for a member's scanned PAN and Aadhaar."""
    return one_page_pdf(
        f"KYC documents of {person.name} ({member_id}) - demo data, not a real person"
    )


def one_page_pdf(text: str) -> bytes:
    """A valid one-page PDF (US Letter) with one line of Helvetica text."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def photo_png(seed: int) -> bytes:
    """A tiny valid PNG (an 8 x 8 tile of one colour) standing in for a photo."""
    colour = bytes(((seed * 53) % 256, (seed * 97) % 256, (seed * 151) % 256))
    rows = b"".join(b"\x00" + colour * 8 for _ in range(8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
