"""KYC documents read from files: accepted by content, refused naming the file and why;
a PDF's first page rendered; a member's earlier documents read back for a resubmission."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from app.services.context import ServiceContext
from app.services.kyc import DocumentRefused, KycService
from app.services.kyc import pdf as kyc_pdf
from app.services.kyc.documents import MAX_DOCUMENT_BYTES, check_documents, read_document
from app.services.members import MemberService
from tests.builders import AADHAAR, ACCOUNT, ADMIN, EMPLOYEE, JPEG, PAN, PDF, PNG


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [("scan.pdf", PDF, "application/pdf"), ("photo.jpg", JPEG, "image/jpeg"),
     ("card.png", PNG, "image/png")],
)  # fmt: skip
def test_a_real_file_is_read_hashed_and_typed_by_content(
    tmp_path: Path, name: str, data: bytes, content_type: str
) -> None:
    doc = read_document(write(tmp_path, name, data))
    assert (doc.name, doc.content_type, doc.size) == (name, content_type, len(data))
    assert doc.sha256 == hashlib.sha256(data).hexdigest()
    assert doc.upload() == (name, data, content_type)


def test_the_content_decides_not_the_name(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path, "photo.pdf", JPEG))
    assert doc.content_type == "image/jpeg" and doc.ext == "jpg"


def test_a_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    with open(path, "wb") as f:  # sparse: the limit is checked before reading
        f.write(b"%PDF-1.4\n")
        f.truncate(MAX_DOCUMENT_BYTES + 1)
    with pytest.raises(DocumentRefused, match=r"scan\.pdf is 10\.0 MB, above the 10 MB limit"):
        read_document(path)


def two_page_pdf_with_password() -> bytes:
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(PDF)).pages:
        writer.add_page(page)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels (its data is one row)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 4))
        + chunk(b"IEND", b"")
    )


REFUSED = [
    ("setup.pdf", b"MZ\x90\x00" + bytes(4000), "setup.pdf is not a PNG, JPEG or PDF file"),
    ("scan.pdf", PDF[: len(PDF) // 3], "scan.pdf is a PDF but it is damaged or not really a PDF"),
    ("scan.pdf", b"%PDF-1.7\n" + bytes(500), "scan.pdf is a PDF but it is damaged"),
    ("locked.pdf", two_page_pdf_with_password(), "locked.pdf is a PDF but it is password-prot"),
    ("card.png", PNG[:-9] + b"\x00" * 9, "card.png is a PNG image but it is damaged"),
    ("photo.jpg", JPEG[:12], "photo.jpg is a JPEG image but it is damaged"),
    ("huge.png", png_claiming(60_000, 60_000), "huge.png is a PNG image but its picture is too"),
    ("empty.png", b"", "empty.png is empty"),
]


@pytest.mark.parametrize(("name", "data", "message"), REFUSED)
def test_a_bad_file_is_refused_naming_it_and_why(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    with pytest.raises(DocumentRefused) as err:
        read_document(write(tmp_path, name, data))
    assert message in str(err.value)
    assert "PNG, JPEG or PDF file of at most 10 MB" in err.value.hint


@pytest.mark.parametrize(("name", "data", "message"), REFUSED[:-1])
def test_a_submission_refuses_the_same_files(name: str, data: bytes, message: str) -> None:
    accepted, problems = check_documents([(name, data, "")])
    assert accepted == [] and message in problems[0]


def test_a_missing_file_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(DocumentRefused, match=r"Cannot read gone\.pdf: No such file"):
        read_document(tmp_path / "gone.pdf")


def test_the_first_page_renders_with_ink_on_white() -> None:
    raster = kyc_pdf.first_page(PDF, 300)
    assert raster.width == 300 and abs(raster.height - 300 * 792 / 612) < 1
    assert len(raster.pixels) == raster.stride * raster.height
    pixels = set(raster.pixels[i : i + 3] for i in range(0, len(raster.pixels), 4))
    assert b"\xff\xff\xff" in pixels and len(pixels) > 2  # white paper and the text's ink


def test_earlier_documents_are_read_back_for_a_new_submission(ctx: ServiceContext) -> None:
    kyc = KycService(ctx)
    member = MemberService(ctx).enroll(ADMIN, "Lakshmi Devi", "9876543210")
    assert kyc.previous_documents(member.id) == ([], [])
    kyc.submit(
        EMPLOYEE,
        member.id,
        name="Lakshmi Devi",
        phone=None,
        pan=PAN,
        aadhaar=AADHAAR,
        account_number=ACCOUNT,
        ifsc="SBIN0001234",
        address="12 Anna Salai\nChennai 600 002",
        documents=[("pan card.png", PNG, ""), ("aadhaar.pdf", PDF, "")],
    )
    again, problems = kyc.previous_documents(member.id)
    assert [(d.name, d.data) for d in again] == [("pan card.png", PNG), ("aadhaar.pdf", PDF)]
    assert problems == []
    (ctx.documents_dir / kyc.get(member.id).documents[1].path).unlink()
    again, problems = kyc.previous_documents(member.id)
    assert [d.name for d in again] == ["pan card.png"]
    assert problems == ["Cannot read aadhaar.pdf: No such file or directory."]
    form = kyc.capture(member.id)
    assert form.status == "pending" and form.phone_masked == "+91 XXXXXX3210"
    assert form.record is not None and form.record.address == "12 Anna Salai\nChennai 600 002"
