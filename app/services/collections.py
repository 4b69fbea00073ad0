"""The document store's collections, each name defined once.

Services write and query these; :mod:`app.services.topics` maps them to the change
topics that read models name. Nothing outside the services layer uses them.
"""

from __future__ import annotations

MEMBERS = "members"
MEMBER_PHONES = "member_phones"
KYC = "kyc"
AADHAAR_TOKENS = "aadhaar_tokens"
PAN_TOKENS = "pan_tokens"

GROUPS = "groups"
TICKETS = "tickets"
GROUP_REGISTRATIONS = "group_registrations"
AGREEMENT_SIGNATURES = "agreement_signatures"

AUCTIONS = "auctions"
BIDS = "bids"
MINUTES = "minutes"
PAYOUTS = "payouts"

LEDGER = "ledger_txns"
DUES = "dues"
RECEIPTS = "receipts"
PERIODS = "ledger_periods"
COUNTER_APPROVALS = "counter_approvals"
CAPITAL_PAYINS = "capital_payins"
"""Capital the company paid in, by the bank reference of the credit: proposed by one
person, approved (posted) or declined by another (see app/services/ledger/capital.py)."""
STATEMENT_IMPORTS = "statement_imports"

LOANS = "loans"
GATE_POOLS = "bankers_pools"
GATE_DECISIONS = "bankers_decisions"
ADVANCES = "advances"
ADVANCE_BOOKS = "advance_books"

RECOVERY_CASES = "recovery_cases"
RECOVERY_OPEN = "recovery_open"

STAFF_ACCOUNTS = "staff"
STAFF_USERNAMES = "staff_usernames"
STAFF_SESSIONS = "staff_sessions"
STAFF_META = "staff_meta"
STAFF_SIGNIN = "staff_signin"

MEMBER_SESSIONS = "member_sessions"
OTP_CODES = "otp_codes"
OTP_LIMITS = "otp_limits"

COUNTERS = "counters"
"""Numbers given in sequence (``counters/members``, ``counters/loans``: the last member
and loan numbers; see app/services/numbering.py)."""
MEMBER_DIRECTORY = "member_directory"
"""Members' names, mobiles and numbers, a block of numbers per document: what the
register's search index is built from (see app/services/member_index.py)."""
