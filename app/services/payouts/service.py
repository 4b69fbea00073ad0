"""Prize payouts, from the draw to the winner's bank account.

One service, in parts on one topic each: the statutory clock (:mod:`.clock`), the
winner's security or the deduction of future instalments (:mod:`.security`), the
maker-checker release through the Banker's gate (:mod:`.release`), advances of the
company's cash when a pool is short (:mod:`.advances`) and what the screen shows
(:mod:`.reads`). The payout itself is created when the draw is settled
(:mod:`app.services.auctions.close`).
"""

from __future__ import annotations

from app.services.payouts.reads import PayoutReads
from app.services.payouts.release import ReleaseDesk
from app.services.payouts.security import SecurityDesk


class PayoutService(SecurityDesk, ReleaseDesk, PayoutReads):
    """Security, release, advances and the payouts screen's reads."""
