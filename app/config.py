"""Settings, declared once: each has a type, a default and help text.

Values come from (lowest to highest priority) the defaults here, environment
variables ``TFOS_<NAME>`` and command-line flags ``--<name>``. Every setting must
appear in README's settings table (a test checks it). Loading settings also sets the
zone every time is shown in (:func:`app.kernel.office_time.use_zone`), so every entry
point shows times alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from app.kernel import office_time
from app.kernel.errors import ValidationError


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("TransactFlowOS", appauthor=False))


def setting(default: Any = dataclasses.MISSING, *, help: str, factory: Any = None) -> Any:
    """Declare a setting with its help text (kept in the field's metadata)."""
    if factory is not None:
        return field(default_factory=factory, metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Every knob of TransactFlowOS."""

    data_dir: Path = setting(
        factory=_default_data_dir,
        help="Folder holding the store, the WAL, documents and locks.",
    )
    host: str = setting("127.0.0.1", help="Address the embedded web server listens on.")
    port: int = setting(8080, help="Port of the embedded web server (0 picks a free one).")
    store_backend: str = setting(
        "sqlite",
        help="Document store: 'sqlite' (embedded, default) or 'firestore' (a Google Cloud"
        " Firestore project shared by several processes and machines).",
    )
    firestore_project: str = setting(
        "",
        help="Google Cloud project of the 'firestore' store (default: the project of the"
        " GOOGLE_APPLICATION_CREDENTIALS key).",
    )
    wal_lock_timeout: float = setting(
        10.0, help="Seconds a writer waits for another process's WAL write before failing."
    )
    lease_seconds: float = setting(
        15.0,
        help="With the 'firestore' store: seconds a lease (an auction session, a job's claim)"
        " lasts unless its holder renews it; a machine that stops loses its leases after this.",
    )
    scheduler_workers: int = setting(2, help="Worker threads scoring loan applications.")
    session_hours: float = setting(12.0, help="Hours a staff sign-in stays valid.")
    log_level: str = setting("INFO", help="Logging level (DEBUG, INFO, WARNING, ERROR).")
    member_session_hours: float = setting(12.0, help="Hours a member's web sign-in stays valid.")
    sms_sender: str = setting(
        "outbox",
        help="Where sign-in codes go: 'outbox' (DATA_DIR/sms-outbox.jsonl) or 'http' (a gateway).",
    )
    sms_gateway_url: str = setting("", help="URL the 'http' SMS sender POSTs {to, text} to.")
    sms_gateway_token: str = setting("", help="Bearer token for the SMS gateway (optional).")
    trusted_proxies: str = setting(
        "",
        help="Comma-separated IPs or CIDR networks of reverse proxies whose X-Forwarded-For "
        "is believed (empty: none; the TCP peer is the client).",
    )
    firm_name: str = setting(
        "TransactFlowOS Chit Funds", help="The firm's name at the head of every report and receipt."
    )
    firm_address: str = setting(
        "", help="The firm's address (and registration) under its name on reports and receipts."
    )
    time_zone: str = setting(
        office_time.DEFAULT_ZONE,
        help="The office's time zone (an IANA name such as Asia/Dubai): every date and time"
        " on the desktop, the web pages, reports and command-line output is shown in it,"
        " labelled. Stored times stay UTC and the books' calendar stays India's.",
    )

    @property
    def store_path(self) -> Path:
        return self.data_dir / "store.sqlite3"

    @property
    def wal_path(self) -> Path:
        return self.data_dir / "wal" / "wal.log"

    @property
    def locks_dir(self) -> Path:
        return self.data_dir / "locks"

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"


_ARTICLE = {int: "an integer", float: "a number", str: "a text", Path: "a path"}


def env_name(name: str) -> str:
    return "TFOS_" + name.upper()


def describe() -> list[tuple[str, str, str, str]]:
    """(flag, env var, default, help) for every setting, in declaration order."""
    rows = []
    for f in dataclasses.fields(Settings):
        factory: Any = f.default_factory
        default = factory() if f.default is dataclasses.MISSING else f.default
        if f.name == "data_dir":
            default = "platformdirs user data dir"
        rows.append(
            ("--" + f.name.replace("_", "-"), env_name(f.name), str(default), f.metadata["help"])
        )
    return rows


def add_arguments(parser: argparse.ArgumentParser, *, default: Any = None) -> None:
    """Add a ``--<name>`` flag for every setting (default: unset, so env/defaults apply).

    A subcommand's parser passes ``default=argparse.SUPPRESS``, so a flag given after
    the subcommand counts and one left out there does not undo the same flag given
    before it."""
    for f in dataclasses.fields(Settings):
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            dest="setting_" + f.name,
            default=default,
            help=f"{f.metadata['help']} [env {env_name(f.name)}]",
        )


def _convert(f: dataclasses.Field[Any], raw: str) -> Any:
    kind = (
        f.type
        if isinstance(f.type, type)
        else {"Path": Path, "str": str, "int": int, "float": float}[str(f.type)]
    )
    try:
        return kind(raw)
    except ValueError:
        raise ValidationError(
            f"Setting {f.name} must be {_ARTICLE.get(kind, kind.__name__)}, got {raw!r}."
        ) from None


def load(
    args: argparse.Namespace | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build Settings from defaults, the environment, parsed flags and explicit overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        raw = env.get(env_name(f.name))
        if args is not None and getattr(args, "setting_" + f.name, None) is not None:
            raw = getattr(args, "setting_" + f.name)
        if raw is not None and raw != "":
            values[f.name] = _convert(f, raw)
    values.update(overrides)
    settings = Settings(**values)
    if settings.store_backend not in ("sqlite", "firestore"):
        raise ValidationError(
            f"Unknown store backend {settings.store_backend!r}.",
            hint="Use 'sqlite' or 'firestore'.",
        )
    parse_networks(settings.trusted_proxies)
    office_time.use_zone(settings.time_zone)
    return settings


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str, *, name: str = "trusted_proxies") -> tuple[Network, ...]:
    """``"10.0.0.1, 192.168.0.0/16, ::1"`` -> networks (a bare address is a /32 or /128)."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValidationError(
                f"Setting {name}: {item[:60]!r} is not an IP address or network.",
                hint="Give addresses or CIDR networks separated by commas, "
                "e.g. 10.0.0.5, 192.168.1.0/24.",
            ) from None
    return tuple(networks)


def parse(argv: Sequence[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    ns, _ = parser.parse_known_args(argv)
    return load(ns)
