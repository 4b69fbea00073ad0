"""A child process for the statement crash test: imports a statement slowly, printing each
chunk as it is acknowledged, until the test kills it.

usage: statement_child.py DATA_DIR FILE.csv CHUNK
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from app import config
from app.bootstrap import build
from app.services.actors import Actor

CLERK = Actor("emp-1", "Ravi Kumar", "employee")


def main() -> None:
    data, statement, chunk = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    runtime = build(config.load(environ={}, data_dir=data))
    preview = runtime.services.statements.open(statement)
    print("ready", flush=True)

    def progress(done: int, total: int) -> None:
        print(f"done {done}", flush=True)
        time.sleep(0.02)  # leave the test time to kill it between chunks, or in one

    runtime.services.statements.commit(CLERK, preview, progress, chunk=chunk)
    runtime.close()
    print("finished", flush=True)


if __name__ == "__main__":
    main()
