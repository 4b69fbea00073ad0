"""A second process on a data directory, ending a session there.

usage: session_child.py DATA_DIR sign-out TOKEN
       session_child.py DATA_DIR disable|password ADMIN_ID STAFF_ID

Prints ``done`` once the change is committed (WAL and store), then exits.
"""

from __future__ import annotations

import sys
from pathlib import Path

from app import config
from app.bootstrap import build
from app.services.actors import Actor
from app.services.staff import StaffService

NEW_PASSWORD = "Another-horse-42"


def main() -> None:
    data_dir, what, *args = sys.argv[1:]
    runtime = build(config.load(environ={}, data_dir=Path(data_dir)))
    staff = StaffService(runtime.ctx)
    try:
        if what == "sign-out":
            runtime.services.otp.sign_out(args[0])
            staff.sign_out(args[0])
        elif what == "disable":
            staff.disable(Actor(args[0], "Admin", "admin"), args[1], reason="left")
        elif what == "password":
            staff.set_password(Actor(args[0], "Admin", "admin"), args[1], NEW_PASSWORD)
        else:
            raise SystemExit(f"unknown command {what!r}")
    finally:
        runtime.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
