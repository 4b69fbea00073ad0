"""KYC documents: which files are accepted, checked by what they contain.

A document is a PNG, a JPEG or a PDF, recognised by its first bytes (never by its
name or declared type), at most :data:`MAX_DOCUMENT_BYTES`, and readable: a PDF must
open and have a page (:mod:`app.services.kyc.pdf`), an image must open as the image
its first bytes promise. At most :data:`MAX_DOCUMENTS` go with one submission.

The same check serves an upload (:func:`check_documents`, the submission's rule) and
a file chosen on this computer (:func:`read_document`, which refuses a file over the
limit before reading it). Every refusal names the file and says why.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from PIL import Image

from app.kernel.errors import ValidationError
from app.services.kyc import pdf
from app.services.text import FILE_NAME, normalise

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
"""The largest document accepted (10 MB): a clear phone photo or scan is far below."""
MAX_DOCUMENTS = 10
MAX_FILENAME = FILE_NAME.max_chars
ACCEPTED = "PNG, JPEG or PDF"

_KINDS: tuple[tuple[bytes, str, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png", "a PNG image"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg", "a JPEG image"),
    (b"%PDF-", "application/pdf", "pdf", "a PDF"),
)
_PILLOW_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG"}
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}

Upload = tuple[str, bytes, str]
"""A document as uploaded: (file name, content, declared content type)."""


class DocumentRefused(ValidationError):
    """A document cannot be attached; the message names the file and why."""


@dataclass(frozen=True)
class Checked:
    """An accepted document: its cleaned name, content, type and SHA-256."""

    name: str
    data: bytes = field(repr=False)
    content_type: str
    ext: str
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)

    def upload(self) -> Upload:
        return self.name, self.data, self.content_type


def sniff(data: bytes) -> tuple[str, str, str] | None:
    """(content type, extension, label) that the first bytes of ``data`` say, or None."""
    for magic, content_type, ext, label in _KINDS:
        if data.startswith(magic):
            return content_type, ext, label
    return None


def clean_filename(raw: object) -> str:
    name = PurePath(raw.replace("\\", "/")).name if isinstance(raw, str) else ""
    name = "".join(ch for ch in normalise(name[: 2 * MAX_FILENAME]) if ch.isprintable())
    return name[:MAX_FILENAME].strip()


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _size_problem(name: str, size: int) -> str | None:
    if size == 0:
        return f"{name} is empty"
    if size > MAX_DOCUMENT_BYTES:
        limit = MAX_DOCUMENT_BYTES // (1024 * 1024)
        return f"{name} is {_megabytes(size)}, above the {limit} MB limit per document"
    return None


def _unreadable(content_type: str, data: bytes) -> str | None:
    """Why a document whose first bytes are right still cannot be read, or None."""
    if content_type == "application/pdf":
        return pdf.problem(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[content_type]]) as image:
                image.verify()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        return f"its picture is too large (over {Image.MAX_IMAGE_PIXELS:,} pixels)"
    except Exception:  # a parser fed damaged bytes fails in many ways; all mean "damaged"
        return "it is damaged: the image cannot be read"
    return None


def document_problem(name: str, data: object, declared: object) -> str | Checked:
    """Why the upload ``(name, data, declared)`` is refused, or the accepted document."""
    if not name:
        return "a document has no file name"
    if not isinstance(data, bytes | bytearray):
        return f"{name} is empty"
    if too_big := _size_problem(name, len(data)):
        return too_big
    kind = sniff(bytes(data))
    if kind is None:
        return f"{name} is not a {ACCEPTED} file (checked by its content)"
    content_type, ext, label = kind
    stated = declared.strip().lower() if isinstance(declared, str) else ""
    stated = _TYPE_ALIASES.get(stated, stated)
    if stated not in _GENERIC_TYPES and stated != content_type:
        return f"{name} is declared as {stated} but its content is {label}"
    if why := _unreadable(content_type, bytes(data)):
        return f"{name} is {label} but {why}"
    return Checked(name, bytes(data), content_type, ext, hashlib.sha256(data).hexdigest())


def check_documents(documents: Sequence[Upload]) -> tuple[list[Checked], list[str]]:
    """The acceptable documents and a list of problems (empty when all are fine)."""
    if not documents:
        return [], ["attach at least one document (a photo or PDF of the PAN and Aadhaar)"]
    if len(documents) > MAX_DOCUMENTS:
        return [], [f"at most {MAX_DOCUMENTS} documents; got {len(documents)}"]
    checked: list[Checked] = []
    problems: list[str] = []
    for item in documents:
        if not isinstance(item, tuple | list) or len(item) != 3:
            problems.append("each document must be (file name, content, content type)")
            continue
        raw_name, data, declared = item
        result = document_problem(clean_filename(raw_name), data, declared)
        if isinstance(result, str):
            problems.append(result)
        else:
            checked.append(result)
    return checked, problems


def read_document(path: Path, *, name: str | None = None) -> Checked:
    """A file on this computer, checked as an upload is (its size before it is read).

    ``name`` is what to call it (default: the file's own name).

    Raises:
        DocumentRefused: the file cannot be read or is not an acceptable document.
    """
    shown = clean_filename(name if name is not None else path.name) or "the file"
    try:
        with open(path, "rb") as f:
            too_big = _size_problem(shown, _file_size(f))
            if too_big:
                raise DocumentRefused(_sentence(too_big), hint=_HINT)
            data = f.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise DocumentRefused(
            f"Cannot read {shown}: {exc.strerror or exc}.", hint="Choose a file you can open."
        ) from exc
    result = document_problem(shown, data, "")
    if isinstance(result, str):
        raise DocumentRefused(_sentence(result), hint=_HINT)
    return result


def hash_file(path: Path) -> tuple[str, int]:
    """The SHA-256 (hex) and size of the file at ``path``, read in 1 MB pieces."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


_HINT = f"Attach a {ACCEPTED} file of at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB."


def _file_size(f: io.BufferedReader) -> int:
    size = f.seek(0, io.SEEK_END)
    f.seek(0)
    return size


def _sentence(problem: str) -> str:
    return problem + "."
