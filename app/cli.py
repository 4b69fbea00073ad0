"""``tfos``: the admin and auditor command line.

Every subcommand takes the settings flags (``--data-dir`` and friends, see README).
Known errors print their message and exit 2; ``wal verify`` exits 1 on damage.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import getpass
import json
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app import config
from app.config import Settings
from app.kernel import office_time
from app.kernel.errors import KnownError
from app.kernel.files import set_private_umask
from app.kernel.gc_tuning import tune_gc
from app.services.audit_log import AuditLog
from app.services.context import SystemClock

if TYPE_CHECKING:
    from app.services.actors import Actor
    from app.services.ledger import CapitalDesk, PayIn
    from app.services.proofs import ProofService
    from app.services.staff import StaffService

Command = Callable[[argparse.Namespace, Settings], int]
Subparsers = argparse._SubParsersAction  # type: ignore[type-arg]
SEED_HELP = "On an empty data directory, first fill it with demo data (as `make run` does)."
CLI_EXPORT = "from the command line"


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def audit_log(settings: Settings, path: str | None = None) -> AuditLog:
    """The log a read-only command reads (``path``, or the data directory's), refused
    when there is none (see :func:`app.services.audit_log.existing_log`)."""
    return AuditLog.existing(
        settings.data_dir, settings.wal_path, SystemClock(), Path(path) if path else None
    )


def cmd_wal_verify(args: argparse.Namespace, settings: Settings) -> int:
    if settings.store_backend == "firestore" and not args.log:
        return _verify_project(settings)
    report = audit_log(settings, args.log).verify()
    print(report.to_json())
    return 0 if report.ok else 1


def _verify_project(settings: Settings) -> int:
    from app.services.firestore_admin import verify_log

    report = verify_log(settings.firestore_project, settings.wal_path)
    print(report.to_json())
    return 0 if report.ok else 1


def cmd_wal_tail(args: argparse.Namespace, settings: Settings) -> int:
    for record in audit_log(settings).tail(args.count):
        print(json.dumps(record, ensure_ascii=False))
    return 0


def cmd_wal_stats(args: argparse.Namespace, settings: Settings) -> int:
    _print_json(audit_log(settings).stats())
    return 0


def cmd_store_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from app.services import store_rebuild

    if settings.store_backend == "firestore":
        raise KnownError(
            "`tfos store rebuild` rebuilds the SQLite store from its log; with the Firestore "
            "store, each record is written together with its documents.",
            hint="Check the log with `tfos wal verify --store-backend firestore`.",
        )
    report = store_rebuild.rebuild(audit_log(settings).path, settings.store_path)
    print("\n".join(report.lines()))
    if args.replace:
        backup = store_rebuild.replace(settings.store_path)
        print(f"The rebuilt store is now the store; the old one is kept as {backup.name}.")
    elif report.identical:
        report.rebuilt.unlink()
        print("The store matches its log; the rebuilt copy was removed.")
    else:
        print(
            f"To use the rebuilt store, stop every TransactFlowOS program on "
            f"{settings.data_dir}, then run: tfos store rebuild --replace --data-dir "
            f"{settings.data_dir}   (the old store is kept as a .bak file)"
        )
    return 0 if report.identical else 1


def cmd_store_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.firestore_admin import move_office

    audit_log(settings)  # refuses a folder with no log, creating nothing
    moved = move_office(
        settings.data_dir,
        settings.firestore_project,
        resume=args.resume,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print("\n".join(moved.report.lines()))
    if moved.report.identical:
        print(
            f"Done. Start TransactFlowOS with --store-backend firestore on {moved.project}; "
            f"every machine needs a copy of {moved.key_path} (keep it private)."
        )
    return 0 if moved.report.identical else 1


def cmd_kpis(args: argparse.Namespace, settings: Settings) -> int:
    from app import bootstrap

    runtime = bootstrap.build(settings, existing=True)
    try:
        kpis = runtime.services.kpis.kpis()
    finally:
        runtime.close()
    if args.json:
        _print_json(kpis.to_json())
    else:
        print("\n".join(kpis.lines()))
    return 0


def cmd_ledger_check(args: argparse.Namespace, settings: Settings) -> int:
    from app import bootstrap

    runtime = bootstrap.build(settings, existing=True)
    try:
        ok, report = runtime.services.ledger.check()
    finally:
        runtime.close()
    print(report)
    return 0 if ok else 1


def cmd_capital_list(args: argparse.Namespace, settings: Settings) -> int:
    from app import bootstrap

    runtime = bootstrap.build(settings, existing=True)
    try:
        board = runtime.services.capital.board()
    finally:
        runtime.close()
    print("\n".join(board.lines()))
    return 0


def cmd_capital_propose(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.ledger.capital import INTO
    from app.services.money import rupees

    amount = rupees(args.amount, field="Amount")
    return _capital_as_staff(
        settings,
        args.staff,
        lambda capital, actor: capital.propose_capital(
            actor, amount, INTO[args.into], args.bank_ref, args.memo, args.credited_on
        ),
        "Recorded (another staff member approves it before it is posted)",
    )


def cmd_capital_approve(args: argparse.Namespace, settings: Settings) -> int:
    return _capital_as_staff(
        settings,
        args.staff,
        lambda capital, actor: capital.approve_capital(actor, args.bank_ref, args.note),
        "Posted",
    )


def cmd_capital_decline(args: argparse.Namespace, settings: Settings) -> int:
    return _capital_as_staff(
        settings,
        args.staff,
        lambda capital, actor: capital.decline_capital(actor, args.bank_ref, args.reason),
        "Declined (nothing is posted)",
    )


def _capital_as_staff(
    settings: Settings,
    username: str,
    act: Callable[[CapitalDesk, Actor], PayIn],
    done: str,
) -> int:
    """Sign ``username`` in (the password is asked), ``act`` on the capital desk in their
    name, sign out, and print the pay-in."""
    from app import bootstrap

    runtime = bootstrap.build(settings, existing=True)
    try:
        with _signed_in(runtime.services.staff, username) as actor:
            payin = act(runtime.services.capital, actor)
    finally:
        runtime.close()
    print(f"{done}: {payin.line()}")
    return 0


def _add_capital(ledger_sub: Subparsers) -> None:
    capital = ledger_sub.add_parser(
        "capital", help="Capital paid in: an admin records it, a second person approves it."
    )
    capital_sub = capital.add_subparsers(dest="capital_command", required=True)
    _command(capital_sub, "list", "The cash pools and the pay-ins.", cmd_capital_list)
    staff_help = "Your staff username (the password is asked)."
    propose = _command(
        capital_sub, "propose", "As an admin, record a credit the company paid in.",
        cmd_capital_propose,
    )  # fmt: skip
    propose.add_argument("--amount", required=True, help="In rupees, e.g. 5,00,000.")
    propose.add_argument("--into", required=True, choices=["lending", "company"])
    propose.add_argument("--bank-ref", required=True, help="The UTR or cheque number.")
    propose.add_argument(
        "--credited-on",
        metavar="YYYY-MM-DD",
        help="The day the bank credited the money, as on the statement (default: today); "
        "the posting is dated it.",
    )
    propose.add_argument("--memo", default="", help="e.g. the board resolution.")
    propose.add_argument("--staff", required=True, help=staff_help)
    for name, help, func in (
        ("approve", "As a second person, post a recorded pay-in.", cmd_capital_approve),
        ("decline", "Decline a recorded pay-in, with a reason.", cmd_capital_decline),
    ):
        command = _command(capital_sub, name, help, func)
        command.add_argument("bank_ref", metavar="BANK_REF", help="The pay-in's bank reference.")
        command.add_argument("--staff", required=True, help=staff_help)
        if name == "approve":
            command.add_argument("--note", default="", help="Optional.")
        else:
            command.add_argument("--reason", required=True, help="Why (kept in the audit trail).")


def cmd_demo_data(args: argparse.Namespace, settings: Settings) -> int:
    from app import bootstrap
    from app.services.demo import generate

    runtime = bootstrap.build(settings)
    try:
        summary = generate(
            runtime.ctx,
            groups=args.groups,
            members=args.members,
            months=args.months,
            seed=args.seed,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    finally:
        runtime.close()
    print(summary.text())
    return 0 if summary.ledger_balanced else 1


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Write a report and record its export in the log (in the platform's name: the
    command line signs no one in)."""
    from pathlib import Path

    from app import bootstrap
    from app.services.actors import SYSTEM
    from app.services.reports import Request

    out = Path(args.out)
    if out.suffix.lower() != ".pdf" or not out.parent.is_dir():
        raise KnownError(f"--out {args.out}: give a .pdf file in an existing folder.")
    request = Request(
        kind=args.kind,
        group=args.group,
        member=args.member,
        start=args.start,
        end=args.end,
        period=args.period,
        registrar=args.registrar,
        receipt=args.receipt,
    )
    runtime = bootstrap.build(settings, existing=True)
    try:
        exported = runtime.services.reports.export(SYSTEM, request, out, via=CLI_EXPORT)
    finally:
        runtime.close()
    rendered = exported.rendered
    print(
        f"{rendered.kind.title}: {out} ({len(rendered.pdf):,} bytes, log record "
        f"{rendered.head.lsn}, head {rendered.head.hash[:16]}); "
        f"export recorded as record {exported.record_lsn}, SHA-256 {exported.sha256}"
    )
    return 0


def _add_report(sub: Subparsers) -> None:
    """``tfos report``; the kinds are listed in README (and by an unknown name), not here,
    so that no other command pays for importing the reports."""
    report = _command(sub, "report", "Write a PDF report (see README's Reports).", cmd_report)
    report.add_argument("kind", metavar="KIND", help="member-list, trial-balance, ... (README).")
    report.add_argument("--out", required=True, metavar="FILE.pdf", help="Where to write it.")
    report.add_argument("--group", help="A chit group's id or exact name.")
    report.add_argument("--member", help="A member's id or mobile number.")
    report.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="First day.")
    report.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="Last day.")
    report.add_argument("--period", help="A period of the group (auction-minutes).")
    report.add_argument(
        "--registrar", action="store_true", help="auction-minutes: the Registrar's copy."
    )
    report.add_argument("--receipt", metavar="BANK_REF", help="receipt: its bank reference.")


@contextlib.contextmanager
def _proofs(settings: Settings) -> Iterator[ProofService]:
    """The log's checkpoints and proofs, on a data directory that has a log."""
    from app import bootstrap

    runtime = bootstrap.build(settings, existing=True)
    try:
        yield runtime.services.proofs
    finally:
        runtime.close()


def cmd_audit_pubkey(args: argparse.Namespace, settings: Settings) -> int:
    with _proofs(settings) as proofs:
        print(proofs.verifier_key())
    return 0


def cmd_audit_checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    with _proofs(settings) as proofs:
        print(proofs.checkpoint_text(), end="")
    return 0


def cmd_audit_prove(args: argparse.Namespace, settings: Settings) -> int:
    with _proofs(settings) as proofs:
        _print_json(proofs.prove(args.lsn, args.size))
    return 0


def cmd_audit_consistency(args: argparse.Namespace, settings: Settings) -> int:
    with _proofs(settings) as proofs:
        _print_json(proofs.consistency(args.first, args.second))
    return 0


def cmd_audit_check(args: argparse.Namespace, settings: Settings) -> int:
    try:
        note = Path(args.checkpoint).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnownError(f"Cannot read the checkpoint {args.checkpoint}: {exc}.") from None
    with _proofs(settings) as proofs:
        report = proofs.check(note)
    print(report.message)
    return 0 if report.ok else 1


def cmd_audit_witness(args: argparse.Namespace, settings: Settings) -> int:
    from app.kernel.merkle import ProofFailed
    from app.services.witness import create_key

    key = Path(args.key)
    if args.name and not args.new_key:
        raise KnownError("--name names a new key: it goes with --new-key.")
    with _proofs(settings) as proofs:
        if args.new_key:
            made = create_key(key, args.name or _witness_name())
            print(f"Made the witness key {key} (yours alone); its verifier key is")
            print(made.verifier.vkey)
        try:
            done = proofs.witness(key)
        except ProofFailed as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 1
    print(done.message)
    print(done.note, end="")
    return 0


def _witness_name() -> str:
    """``<host>/<login>``: who cosigns, unless ``--name`` says otherwise."""
    import re
    import socket

    clean = re.compile(r"[^A-Za-z0-9._@-]+")
    return f"{clean.sub('-', socket.gethostname())}/{clean.sub('-', getpass.getuser())}"


def _add_audit(sub: Subparsers) -> None:
    audit = sub.add_parser("audit", help="Signed checkpoints and proofs of the audit log.")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    _command(audit_sub, "pubkey", "The log's verifier key (note format).", cmd_audit_pubkey)
    _command(
        audit_sub, "checkpoint", "The latest signed checkpoint (save it).", cmd_audit_checkpoint
    )
    prove = _command(audit_sub, "prove", "Inclusion proof of one record (JSON).", cmd_audit_prove)
    prove.add_argument("--lsn", required=True, metavar="N", help="The record's number.")
    prove.add_argument("--size", metavar="S", help="In the tree of the first S records (now).")
    consistency = _command(
        audit_sub,
        "consistency",
        "Consistency proof between two tree sizes (JSON).",
        cmd_audit_consistency,
    )
    consistency.add_argument("--from", dest="first", required=True, metavar="M")
    consistency.add_argument("--to", dest="second", metavar="N", help="Default: the log now.")
    check = _command(
        audit_sub,
        "check",
        "Check a saved checkpoint against the log; exit 1 if the log no longer has it.",
        cmd_audit_check,
    )
    check.add_argument("checkpoint", metavar="CHECKPOINT_FILE")
    witness = _command(
        audit_sub,
        "witness",
        "Cosign the latest checkpoint with your own key, if it extends the one you cosigned "
        "last; exit 1 if not.",
        cmd_audit_witness,
    )
    witness.add_argument("--key", required=True, metavar="FILE", help="Your witness key file.")
    witness.add_argument(
        "--new-key", action="store_true", help="Make the key file first (mode 600)."
    )
    witness.add_argument("--name", help="With --new-key: your witness name (default host/login).")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from app import bootstrap
    from server.app import bound_port, client_count, create_app, start

    runtime = bootstrap.build(settings)
    if args.seed_demo_if_empty:
        runtime.seed_demo_if_empty()
    runtime.start_background()

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        web = create_app(runtime.services, settings)
        runtime.stats.register("connected_clients", client_count(web))
        try:
            runner = await start(web, settings.host, settings.port)
        except OSError as exc:
            raise _cannot_listen(settings, exc) from None
        print(f"TransactFlowOS serving on http://{settings.host}:{bound_port(runner)}", flush=True)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(serve())
    finally:
        runtime.close()
    return 0


def _cannot_listen(settings: Settings, exc: OSError) -> KnownError:
    where = f"{settings.host}:{settings.port}"
    if exc.errno == errno.EADDRINUSE:
        return KnownError(
            f"Port {settings.port} is already in use on {settings.host}.",
            hint="Stop the program using it, or choose another port with --port or TFOS_PORT.",
        )
    return KnownError(
        f"Cannot listen on {where}: {exc.strerror or exc}.",
        hint="Check --host and --port (TFOS_HOST, TFOS_PORT).",
    )


def _password(username: str) -> str:
    """The staff member's password: asked on the terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        return getpass.getpass(f"Password for {username}: ")
    return sys.stdin.readline().rstrip("\r\n")


@contextlib.contextmanager
def _signed_in(staff: StaffService, username: str) -> Iterator[Actor]:
    """``username`` signed in for one command (the password is asked), signed out after."""
    session = staff.sign_in(username, _password(username))
    try:
        yield session.actor
    finally:
        staff.sign_out(session.token)


def cmd_member_sign_in_code(args: argparse.Namespace, settings: Settings) -> int:
    """Staff issue a member a sign-in code outside the limits strangers can reach. Whoever
    runs it must be able to open the data directory *and* sign in as staff; the WAL
    records that staff member, how the code went out and why."""
    from app import bootstrap

    runtime = bootstrap.build(settings)
    try:
        with _signed_in(runtime.services.staff, args.staff) as actor:
            issued = runtime.services.otp.issue_code(
                actor, args.phone, args.reason, send=not args.in_person
            )
    finally:
        runtime.close()
    who = f"{issued.member.name} ({issued.member.phone_masked})"
    until = office_time.moment(issued.expires_at)
    if issued.sent:
        print(f"Texted a sign-in code to {who}; it is valid until {until}.")
    else:
        print(f"Sign-in code for {who}: {issued.code}")
        print(f"Valid until {until}. Hand it over only to the member, in person.")
    return 0


def cmd_collections_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import a bank statement as the desktop's import view does: sort every line, record
    the matched ones in atomic chunks, print the summary. Exit 0 when every receipt line
    was recorded, 1 when lines are left for a person (or refused), 2 on an error."""
    from app import bootstrap
    from app.services.statements.model import NEEDS_A_PERSON, summary_lines

    if not args.dry_run and not args.staff:
        raise KnownError(
            "Say who imports the statement: --staff USER (the receipts are recorded in your "
            "name), or look first with --dry-run."
        )
    if args.chunk < 1:
        raise KnownError(f"--chunk {args.chunk}: give a number of lines from 1.")
    runtime = bootstrap.build(settings, existing=True)
    statements = runtime.services.statements
    try:
        with contextlib.ExitStack() as stack:
            actor = (
                None if args.dry_run else stack.enter_context(
                    _signed_in(runtime.services.staff, args.staff)
                )
            )  # fmt: skip
            preview = statements.open(Path(args.file))
            print("\n".join(summary_lines(preview)), flush=True)
            if actor is None:
                return 0 if not preview.count(*NEEDS_A_PERSON) else 1
            done = statements.commit(actor, preview, _progress, chunk=args.chunk)
    finally:
        runtime.close()
    print("\n".join(done.lines()))
    return 0 if not done.refused and not done.left else 1


def _progress(done: int, total: int) -> None:
    print(f"recorded {done:,} of {total:,} lines", file=sys.stderr, flush=True)


def _add_collections(sub: Subparsers) -> None:
    collections = sub.add_parser("collections", help="Receipts from bank statements.")
    collections_sub = collections.add_subparsers(dest="collections_command", required=True)
    imports = _command(
        collections_sub,
        "import",
        "Import a bank statement (CSV): record the lines that match a due, print the rest.",
        cmd_collections_import,
    )
    imports.add_argument("file", metavar="FILE.csv", help="The statement exported as CSV.")
    imports.add_argument(
        "--staff", metavar="USER", help="Your staff username (the password is asked)."
    )
    imports.add_argument(
        "--dry-run", action="store_true", help="Only print how each line sorts; record nothing."
    )
    imports.add_argument(
        "--chunk", type=int, default=400, metavar="N", help="Lines recorded per change (400)."
    )


def cmd_desktop(args: argparse.Namespace, settings: Settings) -> int:
    from app.__main__ import run_desktop

    return run_desktop(settings, screenshots=args.screenshots, seed_demo=args.seed_demo_if_empty)


def _command(sub: Subparsers, name: str, help: str, func: Command) -> argparse.ArgumentParser:
    """A subcommand that runs ``func`` and takes the settings flags after its name too
    (``tfos wal verify --data-dir D`` as well as ``tfos --data-dir D wal verify``)."""
    command = sub.add_parser(name, help=help)
    config.add_arguments(command, default=argparse.SUPPRESS)
    command.set_defaults(func=func)
    return command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfos", description=__doc__.splitlines()[0])
    config.add_arguments(parser)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = _command(sub, "serve", "Run the web server alone (no desktop).", cmd_serve)
    serve.add_argument("--seed-demo-if-empty", action="store_true", help=SEED_HELP)

    demo = _command(
        sub, "demo-data", "Fill an empty data directory with demo history.", cmd_demo_data
    )
    demo.add_argument("--groups", type=int, default=20)
    demo.add_argument("--members", type=int, default=50, help="Members per group.")
    demo.add_argument("--months", type=int, default=12)
    demo.add_argument("--seed", type=int, default=1)

    kpis = _command(sub, "kpis", "Print the platform KPIs.", cmd_kpis)
    kpis.add_argument("--json", action="store_true", help="As one JSON object.")

    ledger = sub.add_parser("ledger", help="Ledger checks, and capital paid in.")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    _command(
        ledger_sub,
        "check",
        "Print the trial balance; exit 1 if it does not balance.",
        cmd_ledger_check,
    )
    _add_capital(ledger_sub)

    _add_report(sub)
    _add_audit(sub)
    _add_collections(sub)

    desktop = _command(sub, "desktop", "Start the desktop application.", cmd_desktop)
    desktop.add_argument(
        "--screenshots",
        metavar="DIR",
        default=None,
        help="Save one PNG per main view into DIR and exit.",
    )
    desktop.add_argument("--seed-demo-if-empty", action="store_true", help=SEED_HELP)

    member = sub.add_parser("member", help="Help a member.")
    member_sub = member.add_subparsers(dest="member_command", required=True)
    code = _command(
        member_sub,
        "sign-in-code",
        "As staff, issue a member a sign-in code that no rate limit blocks (audited).",
        cmd_member_sign_in_code,
    )
    code.add_argument("--phone", required=True, help="The member's mobile number.")
    code.add_argument("--staff", required=True, help="Your staff username (the password is asked).")
    code.add_argument("--reason", required=True, help="Why (kept in the audit trail).")
    code.add_argument(
        "--in-person",
        action="store_true",
        help="Print the code to hand over in person instead of texting it.",
    )

    wal = sub.add_parser("wal", help="Inspect and verify the write-ahead log.")
    wal_sub = wal.add_subparsers(dest="wal_command", required=True)
    verify = _command(
        wal_sub,
        "verify",
        "Re-hash the chain (with --store-backend firestore: the project's, and compare this "
        "data directory's mirror); exit 1 if damaged.",
        cmd_wal_verify,
    )
    verify.add_argument("log", nargs="?", help="A log file (default: the data directory's).")
    tail = _command(wal_sub, "tail", "Print the newest records as JSON lines.", cmd_wal_tail)
    tail.add_argument("-n", "--count", type=int, default=20)
    _command(wal_sub, "stats", "Entries, head hash and size.", cmd_wal_stats)

    store = sub.add_parser("store", help="The document store.")
    store_sub = store.add_subparsers(dest="store_command", required=True)
    rebuild = _command(
        store_sub,
        "rebuild",
        "Replay the log into a fresh store beside the store and compare; exit 1 if they differ.",
        cmd_store_rebuild,
    )
    rebuild.add_argument(
        "--replace",
        action="store_true",
        help="Then swap the rebuilt store in (every program on the data directory stopped); "
        "the old one is kept as a .bak file.",
    )
    move = _command(
        store_sub,
        "migrate",
        "Copy this data directory's log and documents into an empty Firestore project.",
        cmd_store_migrate,
    )
    move.add_argument("--to", required=True, choices=["firestore"], help="Where to.")
    move.add_argument(
        "--resume", action="store_true", help="Finish a migration that was interrupted."
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    set_private_umask()
    tune_gc()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = config.load(args)
        logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
        func: Command = args.func
        return func(args, settings)
    except KnownError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
