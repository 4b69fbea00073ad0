"""OS-level mechanisms: WAL, locks, keyring sessions, system stats, scheduler.

Nothing here knows about chit funds, Qt or HTTP (enforced by import-linter).
"""
