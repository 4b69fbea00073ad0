"""KYC: submission with documents, bulk decisions, document verification, audited reveal.

What is kept (``kyc/{member_id}``): the PAN and the bank account sealed with the
PII vault (the seal's context names the field and the member, so a sealed value
cannot be moved to another field or member) beside their masked forms; the Aadhaar
only as its keyed token and last 4 digits; the IFSC; the address (where the
submission gave one); and the documents as
``{name, sha256, path, size, content_type}``. No store document, WAL record or
result of this module holds a PAN, Aadhaar or account number in clear; only
:meth:`KycService.reveal` returns one, to an admin, and writes a ``kyc.reveal``
record saying who asked, for which member and field, and why (never the value).

An Aadhaar, and likewise a PAN, may belong to one member only: one person, one
membership (a second membership under the same numbers is how ghost members are
made). ``aadhaar_tokens/{token}`` and ``pan_tokens/{token}`` name the member
holding each keyed token and are created with ``expect_version=0`` in the
submission's ChangeSet, so two members can never both register one number. A
rejected record keeps its numbers until it is submitted again with others.

Documents are accepted as :mod:`app.services.kyc.documents` says (PNG, JPEG or PDF
by their content, readable, at most 10 MB each). Each is stored as
``<documents_dir>/<member_id>/<sha256>.<ext>``: written to a temporary file, fsynced
and renamed into place *before* the WAL commit, so a committed record never names a
file that is not on disk. The WAL record carries each file's SHA-256, size and name;
:meth:`KycService.verify_documents` re-hashes the files against it.

Decisions are bulk and atomic: approving or rejecting several records is ONE
ChangeSet (one WAL record). If any of them cannot be decided (not pending, never
submitted, or submitted by the deciding person: maker-checker), nothing is decided
and the error names every one that failed, so the desk can fix the selection and
try again, rather than leave a half-applied batch to reconcile.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app.kernel.errors import (
    Conflict,
    LockHeld,
    NotFound,
    PermissionDenied,
    StorageError,
    ValidationError,
)
from app.kernel.files import PRIVATE_DIR, write_durably
from app.services import topics
from app.services.actors import Actor
from app.services.collections import AADHAAR_TOKENS, KYC, MEMBERS, PAN_TOKENS
from app.services.context import ServiceContext
from app.services.events import KycApproved, KycRejected, KycRevealed, KycSubmitted
from app.services.kyc.documents import (
    Checked,
    DocumentRefused,
    Upload,
    check_documents,
    hash_file,
    read_document,
)
from app.services.kyc.rules import (
    FieldVerdict,
    KycErrors,
    ValidatedKyc,
    aadhaar_last4,
    check_field,
    mask_aadhaar,
    mask_account,
    mask_pan,
    mask_phone,
    validate_address,
    validate_submission,
)
from app.services.members import member_no
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write
from app.services.text import NOTE, clean
from app.services.topics import reads

_ONE_MEMBER_EACH = (("aadhaar_token", AADHAAR_TOKENS, "Aadhaar"), ("pan_token", PAN_TOKENS, "PAN"))
"""Numbers held by one member only: the KYC field with the token, its index, its name."""
DECIDABLE = "pending"
REVEALABLE = ("pan", "account")

CheckStatus = Literal["match", "mismatch", "missing"]


@dataclass(frozen=True)
class StoredDocument:
    name: str
    sha256: str
    path: str
    size: int
    content_type: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "path": self.path,
            "size": self.size,
            "content_type": self.content_type,
        }


@dataclass(frozen=True)
class KycRecord:
    """A KYC record as screens see it: every personal number masked."""

    member_id: str
    name: str
    phone_masked: str
    pan_masked: str
    aadhaar_masked: str
    account_masked: str
    ifsc: str
    documents: tuple[StoredDocument, ...]
    status: str
    submitted_at: str
    submitted_by: str
    decided_at: str | None
    decided_by: str | None
    reason: str | None
    address: str | None = None

    @classmethod
    def from_doc(cls, doc: Document) -> KycRecord:
        d = doc.data
        return cls(
            member_id=doc.id,
            name=d["name"],
            phone_masked=d["phone_masked"],
            pan_masked=d["pan_masked"],
            aadhaar_masked=mask_aadhaar(d["aadhaar_last4"]),
            account_masked=d["account_masked"],
            ifsc=d["ifsc"],
            documents=tuple(StoredDocument(**x) for x in d.get("documents", ())),
            status=d["status"],
            submitted_at=d["submitted_at"],
            submitted_by=d.get("submitted_by", ""),
            decided_at=d.get("decided_at"),
            decided_by=d.get("decided_by"),
            reason=d.get("reason"),
            address=d.get("address"),
        )


@dataclass(frozen=True)
class CaptureForm:
    """A member as the KYC capture page shows them: masked mobile, their record so far."""

    member_id: str
    name: str
    phone_masked: str
    record: KycRecord | None
    member_no: str = ""
    """What staff call the member (``M-0042``; their id if enrolled before numbers)."""

    @property
    def status(self) -> str:
        return self.record.status if self.record else "none"


@dataclass(frozen=True)
class QueueRow:
    """One line of the KYC desk: never a clear number."""

    member_id: str
    name: str
    phone_masked: str
    pan_masked: str
    status: str
    submitted_at: str
    document_count: int


@dataclass(frozen=True)
class DocumentCheck:
    """The result of re-hashing one stored document."""

    name: str
    path: str
    expected_sha256: str
    actual_sha256: str | None
    size: int
    actual_size: int | None
    status: CheckStatus


# -- the service ------------------------------------------------------------------------


class KycService:
    """Takes KYC submissions, decides them, verifies documents, reveals numbers (audited)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # -- submission ---------------------------------------------------------------------

    def submit(
        self,
        actor: Actor,
        member_id: str,
        *,
        name: str,
        phone: str | None,
        pan: str,
        aadhaar: str,
        account_number: str,
        ifsc: str,
        documents: Sequence[Upload],
        address: str | None = None,
        reason: str = "",
    ) -> KycRecord:
        """Submit (or resubmit, unless approved) a member's KYC; its status becomes pending.

        A member may submit their own; staff may submit anyone's. ``phone`` must be the
        member's registered number (None: that number, as a desk that never sees it in
        clear submits). ``address`` is checked and kept when given (the desktop's capture
        always gives one; None records none). Every wrong field and document is listed
        in one :class:`KycErrors` (``field_errors`` by field).
        """
        _require_self_or_staff(actor, member_id)
        why = clean(reason, "Reason", NOTE)
        member = self.ctx.store.get(MEMBERS, member_id)
        if member is None:
            raise NotFound(f"No member with id {member_id!r}.")
        registered = member.data.get("phone") or ""
        fields = dict(
            name=name,
            phone=registered if phone is None else phone,
            pan=pan,
            aadhaar=aadhaar,
            account_number=account_number,
            ifsc=ifsc,
        )
        kyc, docs, clean_address = _validated(fields, address, documents, registered)
        data = self._kyc_data(actor, member_id, kyc)
        if clean_address is not None:
            data["address"] = clean_address
        created = self._save_documents(member_id, docs)
        data["documents"] = [d.to_json() for d in self._stored(member_id, docs)]
        try:
            work = self._submit_work(actor, member_id, data, why)
            self.ctx.pipeline.transact(actor, work)
        except (ValidationError, Conflict, NotFound, PermissionDenied, LockHeld):
            # Refused before the WAL append: nothing refers to the new files.
            for path in created:
                path.unlink(missing_ok=True)
            raise
        # Any other failure (a StorageError after the record was fsynced) may still commit
        # on replay, and that record names these files: an orphan is harmless, a hole not.
        return self.get(member_id)

    def _kyc_data(self, actor: Actor, member_id: str, kyc: ValidatedKyc) -> dict[str, Any]:
        seal = self.ctx.pii.seal
        return {
            "name": kyc.name,
            "phone_masked": mask_phone(kyc.phone),
            "pan_sealed": seal(kyc.pan, context=f"pan:{member_id}"),
            "pan_masked": mask_pan(kyc.pan),
            "pan_token": self.ctx.pii.pan_token(kyc.pan),
            "aadhaar_token": self.ctx.pii.aadhaar_token(kyc.aadhaar),
            "aadhaar_last4": aadhaar_last4(kyc.aadhaar),
            "account_sealed": seal(kyc.account_number, context=f"account:{member_id}"),
            "account_masked": mask_account(kyc.account_number),
            "ifsc": kyc.ifsc,
            "status": DECIDABLE,
            "submitted_at": self.ctx.clock.now().isoformat(),
            "submitted_by": actor.id,
            "decided_at": None,
            "decided_by": None,
            "reason": None,
        }

    def _member_dir(self, member_id: str) -> Path:
        if not member_id or "/" in member_id or "\\" in member_id or member_id.startswith("."):
            raise ValidationError(f"{member_id!r} cannot name a documents folder.")
        return self.ctx.documents_dir / member_id

    def _stored(self, member_id: str, docs: list[Checked]) -> list[StoredDocument]:
        return [
            StoredDocument(
                d.name, d.sha256, f"{member_id}/{d.sha256}.{d.ext}", len(d.data), d.content_type
            )
            for d in docs
        ]

    def _save_documents(self, member_id: str, docs: list[Checked]) -> list[Path]:
        """Write each document durably; return the files this call created."""
        folder = self._member_dir(member_id)
        created: list[Path] = []
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
            for doc in docs:
                path = folder / f"{doc.sha256}.{doc.ext}"
                if path.exists() and hash_file(path)[0] == doc.sha256:
                    continue
                write_durably(path, doc.data)
                created.append(path)
        except OSError as exc:
            for path in created:
                path.unlink(missing_ok=True)
            raise StorageError(
                f"Could not store the KYC documents in {folder}: {exc.strerror or exc}.",
                hint="Check the disk space and permissions of the data folder.",
            ) from exc
        return created

    def _submit_work(self, actor: Actor, member_id: str, data: dict[str, Any], reason: str) -> Any:
        def work(reader: Reader) -> ChangeSet:
            reader.require(MEMBERS, member_id, "member")
            old = reader.get(KYC, member_id)
            if old is not None and old.data.get("status") == "approved":
                raise Conflict(
                    f"The KYC of member {member_id} is already approved.",
                    hint="An approved KYC is not replaced by a new submission.",
                )
            writes: list[Write] = []
            for claim in _ONE_MEMBER_EACH:
                writes += _token_writes(reader, actor, member_id, data, old, *claim)
            writes += [
                Write("set", KYC, member_id, data),
                Write("update", MEMBERS, member_id, {"kyc_status": DECIDABLE}),
            ]
            documents = [
                {"name": d["name"], "sha256": d["sha256"], "size": d["size"]}
                for d in data["documents"]
            ]
            event = KycSubmitted(member_id, documents)
            return ChangeSet.of(event, member_id, writes, reason)

        return work

    # -- decisions ----------------------------------------------------------------------

    def approve(
        self, actor: Actor, member_ids: Sequence[str], *, reason: str = ""
    ) -> list[KycRecord]:
        """Approve pending KYC records, all or none (see the module docstring)."""
        actor.require("employee", "admin", doing="approve KYC")
        return self._decide(actor, member_ids, "approved", clean(reason, "Reason", NOTE))

    def reject(self, actor: Actor, member_ids: Sequence[str], reason: str) -> list[KycRecord]:
        """Reject pending KYC records, all or none; the reason is required (the member
        sees it and can submit again)."""
        actor.require("employee", "admin", doing="reject KYC")
        why = clean(reason, "Reason", NOTE)
        if not why:
            raise ValidationError(
                "Say why the KYC is rejected: a reason is required.",
                hint="The member sees it, e.g. 'PAN photo is blurred'.",
            )
        return self._decide(actor, member_ids, "rejected", why)

    def _decide(
        self, actor: Actor, member_ids: Sequence[str], status: str, reason: str
    ) -> list[KycRecord]:
        ids = _unique_ids(member_ids)
        verb = "approve" if status == "approved" else "reject"
        decided = KycApproved if status == "approved" else KycRejected
        entity_id = ids[0] if len(ids) == 1 else self.ctx.ids.new("kycbatch")

        def work(reader: Reader) -> ChangeSet:
            docs = {mid: reader.get(KYC, mid) for mid in ids}
            _check_decidable(actor, verb, docs)
            now = self.ctx.clock.now().isoformat()
            change = {
                "status": status,
                "decided_at": now,
                "decided_by": actor.id,
                "decided_by_name": actor.name,
                "reason": reason or None,
            }
            writes = []
            for mid in ids:
                writes.append(Write("update", KYC, mid, change))
                writes.append(Write("update", MEMBERS, mid, {"kyc_status": status}))
            return ChangeSet.of(decided(ids, len(ids)), entity_id, writes, reason)

        self.ctx.pipeline.transact(actor, work)
        return [self.get(mid) for mid in ids]

    # -- documents ----------------------------------------------------------------------

    def verify_documents(self, member_id: str) -> list[DocumentCheck]:
        """Re-hash every stored document of ``member_id`` against its recorded SHA-256."""
        record = self.get(member_id)
        return [self._verify(doc) for doc in record.documents]

    def _verify(self, doc: StoredDocument) -> DocumentCheck:
        path = self.ctx.documents_dir / doc.path
        try:
            actual, size = hash_file(path)
        except FileNotFoundError:
            return DocumentCheck(doc.name, doc.path, doc.sha256, None, doc.size, None, "missing")
        status: CheckStatus = "match" if actual == doc.sha256 else "mismatch"
        return DocumentCheck(doc.name, doc.path, doc.sha256, actual, doc.size, size, status)

    def document_path(self, member_id: str, sha256: str) -> Path:
        """Where a member's document is stored (for a viewer); NotFound if not theirs."""
        for doc in self.get(member_id).documents:
            if doc.sha256 == sha256:
                return self.ctx.documents_dir / doc.path
        raise NotFound(f"Member {member_id} has no KYC document {sha256[:12]}.")

    def previous_documents(self, member_id: str) -> tuple[list[Checked], list[str]]:
        """The documents of ``member_id``'s last submission read back and checked again,
        to go with a new one (a rejected KYC rarely needs every document again), and
        what is wrong with any that cannot be (a missing file, one no longer accepted)."""
        record = self.find(member_id)
        found: list[Checked] = []
        problems: list[str] = []
        for doc in record.documents if record else ():
            try:
                found.append(read_document(self.ctx.documents_dir / doc.path, name=doc.name))
            except DocumentRefused as exc:
                problems.append(exc.message)
        return found, problems

    # -- capture ------------------------------------------------------------------------

    def check_field(self, field: str, value: str) -> FieldVerdict:
        """The verdict on one field as it is typed (the rules a submission applies)."""
        return check_field(field, value)

    def read_document(self, path: Path) -> Checked:
        """A file chosen on this computer, checked as a submitted document is (reads the
        file: call it off the GUI thread). DocumentRefused names the file and why."""
        return read_document(path)

    @reads(topics.KYC)
    def capture(self, member_id: str) -> CaptureForm:
        """What the KYC capture page shows of a member: who, and their KYC so far."""
        member = self.ctx.store.get(MEMBERS, member_id)
        if member is None:
            raise NotFound(f"No member with id {member_id!r}.")
        return CaptureForm(
            member_id,
            member.data.get("name", ""),
            member.data.get("phone_masked", ""),
            self.find(member_id),
            member_no(member.data.get("number"), member_id),
        )

    # -- reveal -------------------------------------------------------------------------

    def reveal(self, actor: Actor, member_id: str, field: str, reason: str) -> str:
        """Return a member's PAN or account number in clear, for an admin, audited.

        A ``kyc.reveal`` WAL record (who, member, field, reason; never the value) is
        committed before the value is returned.
        """
        actor.require("admin", doing="reveal a PAN or bank account number")
        if field not in REVEALABLE:
            raise ValidationError(f"Only {' or '.join(REVEALABLE)} can be revealed, not {field!r}.")
        why = clean(reason, "Reason", NOTE)
        if not why:
            raise ValidationError("Say why the number must be seen: a reason is required.")

        def work(reader: Reader) -> tuple[ChangeSet, str]:
            doc = reader.require(KYC, member_id, "KYC record")
            value = self.ctx.pii.unseal(doc.data[f"{field}_sealed"], context=f"{field}:{member_id}")
            return ChangeSet.of(KycRevealed(member_id, field), member_id, [], why), value

        return str(self.ctx.pipeline.transact(actor, work).value)

    # -- reads --------------------------------------------------------------------------

    def get(self, member_id: str) -> KycRecord:
        doc = self.ctx.store.get(KYC, member_id)
        if doc is None:
            raise NotFound(f"Member {member_id!r} has not submitted KYC.")
        return KycRecord.from_doc(doc)

    def find(self, member_id: str) -> KycRecord | None:
        doc = self.ctx.store.get(KYC, member_id)
        return KycRecord.from_doc(doc) if doc is not None else None

    @reads(topics.KYC)
    def queue(self, status: str | None = None, search: str | None = None) -> list[QueueRow]:
        """Rows for the KYC desk, oldest submission first.

        ``status`` is pending, approved, rejected or none (members who never submitted);
        ``search`` matches the name (any case) or the last digits/characters of the
        masked mobile number or PAN.
        """
        if status is not None and status not in ("none", "pending", "approved", "rejected"):
            raise ValidationError(
                f"Unknown KYC status {status!r}; use none, pending, approved or rejected."
            )
        rows = self._unsubmitted_rows() if status == "none" else self._kyc_rows(status)
        if status is None:
            rows += self._unsubmitted_rows()
        needle = (search or "").strip().casefold()
        if needle:
            rows = [r for r in rows if _row_matches(r, needle)]
        return sorted(rows, key=lambda r: (r.submitted_at or "~", r.name.casefold(), r.member_id))

    def _kyc_rows(self, status: str | None) -> list[QueueRow]:
        query = Query(KYC) if status is None else Query(KYC).where("status", "==", status)
        docs = list(self.ctx.store.stream(query))
        names = self.ctx.store.get_many(MEMBERS, [d.id for d in docs])
        rows = []
        for doc in docs:
            d, member = doc.data, names.get(doc.id)
            rows.append(
                QueueRow(
                    member_id=doc.id,
                    name=member.data.get("name", d["name"]) if member else d["name"],
                    phone_masked=(member.data.get("phone_masked") if member else None)
                    or d["phone_masked"],
                    pan_masked=d["pan_masked"],
                    status=d["status"],
                    submitted_at=d["submitted_at"],
                    document_count=len(d.get("documents", ())),
                )
            )
        return rows

    def _unsubmitted_rows(self) -> list[QueueRow]:
        query = Query(MEMBERS).where("kyc_status", "==", "none")
        return [
            QueueRow(
                doc.id,
                doc.data.get("name", ""),
                doc.data.get("phone_masked", ""),
                "",
                "none",
                "",
                0,
            )
            for doc in self.ctx.store.stream(query)
        ]

    @reads(topics.KYC)
    def counts(self) -> dict[str, int]:
        """How many members are in each KYC status."""
        return {
            status: self.ctx.store.count(Query(MEMBERS).where("kyc_status", "==", status))
            for status in ("none", "pending", "approved", "rejected")
        }


# -- helpers ------------------------------------------------------------------------------


def _require_self_or_staff(actor: Actor, member_id: str) -> None:
    if actor.role == "member":
        if actor.id != member_id:
            raise PermissionDenied(
                f"{actor.name} may submit only their own KYC, not member {member_id}'s."
            )
        return
    actor.require("employee", "admin", doing="submit KYC for a member")


def _validated(
    fields: dict[str, str],
    address: str | None,
    documents: Sequence[Upload],
    registered_phone: str,
) -> tuple[ValidatedKyc, list[Checked], str | None]:
    errors: dict[str, str] = {}
    kyc = None
    try:
        kyc = validate_submission(fields)
    except KycErrors as exc:
        errors.update(exc.field_errors)
    if address is not None:
        verdict = check_field("address", address)
        if not verdict.ok:
            errors["address"] = verdict.message
    if kyc is not None and registered_phone and kyc.phone != registered_phone:
        errors["phone"] = (
            f"Mobile number {mask_phone(kyc.phone)} is not the member's registered number "
            f"{mask_phone(registered_phone)}."
        )
    docs, problems = check_documents(documents)
    if problems:
        errors["documents"] = "Documents: " + "; ".join(problems) + "."
    if errors or kyc is None:
        raise KycErrors(errors)
    return kyc, docs, None if address is None else validate_address(address)


def _unique_ids(member_ids: Iterable[str]) -> list[str]:
    if isinstance(member_ids, str):
        member_ids = [member_ids]
    ids = list(dict.fromkeys(m for m in member_ids if isinstance(m, str) and m.strip()))
    if not ids:
        raise ValidationError("Choose at least one KYC record to decide.")
    return ids


def _check_decidable(actor: Actor, verb: str, docs: dict[str, Document | None]) -> None:
    missing = [mid for mid, doc in docs.items() if doc is None]
    not_pending = [
        f"{mid} ({doc.data.get('status')})"
        for mid, doc in docs.items()
        if doc is not None and doc.data.get("status") != DECIDABLE
    ]
    own = [
        mid
        for mid, doc in docs.items()
        if doc is not None and doc.data.get("submitted_by") == actor.id
    ]
    problems = []
    if missing:
        problems.append("no KYC submitted for " + ", ".join(missing))
    if not_pending:
        problems.append("not pending: " + ", ".join(not_pending))
    if own:
        problems.append(f"submitted by {actor.name} (maker-checker): " + ", ".join(own))
    if not problems:
        return
    message = (
        f"Cannot {verb} the KYC of {len(docs)} member(s); nothing was changed. "
        + "; ".join(problems)
        + "."
    )
    if missing or not_pending:
        raise Conflict(message, hint="Only pending records can be decided: deselect the others.")
    raise PermissionDenied(message, hint="Another staff member must decide what you submitted.")


def _row_matches(row: QueueRow, needle: str) -> bool:
    compact = needle.replace(" ", "")
    return (
        needle in row.name.casefold()
        or row.member_id.casefold() == needle
        or (bool(compact) and row.phone_masked.casefold().endswith(compact))
        or (bool(compact) and row.pan_masked.casefold().endswith(compact))
    )


def _token_writes(
    reader: Reader,
    actor: Actor,
    member_id: str,
    data: dict[str, Any],
    old: Document | None,
    field: str,
    index: str,
    number: str,
) -> list[Write]:
    """Claim ``data[field]`` in ``index`` for ``member_id`` (free the old one if it changed);
    a Conflict when another member holds it (a member is not told who)."""
    token = data[field]
    held = reader.get(index, token)
    if held is not None and held.data.get("member_id") != member_id:
        owner = "another member" if actor.role == "member" else held.data.get("member_id")
        raise Conflict(
            f"This {number} is already registered to {owner}; one {number}, one member.",
            hint="Check the number against the card, or ask the firm's office for help.",
        )
    writes = []
    if held is None:
        writes.append(Write("set", index, token, {"member_id": member_id}, expect_version=0))
    old_token = old.data.get(field) if old is not None else None
    if old_token and old_token != token:
        writes.append(Write("delete", index, old_token))
    return writes
