"""A child process for the crash tests: commits changes and prints each acknowledged id.

usage: crash_child.py DATA_DIR COUNT THREADS
Each change adds one ``items`` document and increments ``counters/c`` in one WAL record.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from app.services.actors import Actor
from app.services.pipeline import ChangeSet, Pipeline, Reader
from app.services.store import Write
from app.services.store.sqlite import SqliteStore

ACTOR = Actor("crash", "Crash Test", "system")


def main() -> None:
    data, count, threads = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    pipeline = Pipeline(SqliteStore(data / "store.sqlite3"), data / "wal" / "wal.log")
    pipeline.open()
    print("ready", flush=True)
    out = threading.Lock()
    base = os.getpid() * 10_000_000

    def work(item_id: int) -> None:
        def change(reader: Reader) -> ChangeSet:
            doc = reader.get("counters", "c")
            value = doc.data["value"] if doc else 0
            return ChangeSet(
                "item.add",
                "item",
                str(item_id),
                [
                    Write("set", "items", str(item_id), {"n": item_id}),
                    Write("set", "counters", "c", {"value": value + 1}),
                ],
            )

        pipeline.transact(ACTOR, change, attempts=1000)
        with out:
            sys.stdout.write(f"{item_id}\n")
            sys.stdout.flush()

    def run(offset: int) -> None:
        for i in range(offset, count, threads):
            work(base + i)

    workers = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    pipeline.close()


if __name__ == "__main__":
    main()
