"""`smile ledger verify`: every ledger invariant checked by SQL on the live database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# name -> (what must hold, query returning one row per violation: (subject, detail))
CHECKS: dict[str, tuple[str, str]] = {
    "zero_sum": (
        "every transaction's entries sum to zero per currency",
        """
        SELECT transaction_id::text, currency || ' off by ' || SUM(amount)
        FROM ledger_entries GROUP BY transaction_id, currency HAVING SUM(amount) <> 0""",
    ),
    "two_legs": (
        "every transaction has at least two entries",
        """
        SELECT t.id::text, COUNT(e.id) || ' entries'
        FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id
        GROUP BY t.id HAVING COUNT(e.id) < 2""",
    ),
    "currency_match": (
        "every entry is in its account's currency",
        """
        SELECT e.id::text, 'entry in ' || e.currency || ', account in ' || a.currency
        FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id WHERE e.currency <> a.currency""",
    ),
    "cached_balance": (
        "each account's cached balance equals the sum of its entries",
        """
        SELECT a.id::text, 'cached ' || a.balance || ', entries sum to ' || COALESCE(s.total, 0)
        FROM ledger_accounts a
        LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM ledger_entries GROUP BY account_id) s
          ON s.account_id = a.id
        WHERE a.balance <> COALESCE(s.total, 0)""",
    ),
    "not_negative": (
        "no account that may not go negative is below zero after holds",
        """
        SELECT id::text, purpose || ' balance ' || balance || ', held ' || held
        FROM ledger_accounts WHERE NOT allow_negative AND balance - held < 0""",
    ),
    "held_matches_holds": (
        "each account's held amount equals the sum of its open holds",
        """
        SELECT a.id::text, 'held ' || a.held || ', open holds ' || COALESCE(h.total, 0)
        FROM ledger_accounts a
        LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM ledger_holds WHERE status = 'open'
                   GROUP BY account_id) h ON h.account_id = a.id
        WHERE a.held <> COALESCE(h.total, 0)""",
    ),
    "holds_settled": (
        "a settled hold has a settle time, and a captured one the transaction that took it",
        """
        SELECT h.id::text, h.status || ' hold, captured ' || h.captured
        FROM ledger_holds h LEFT JOIN ledger_entries e
          ON e.transaction_id = h.transaction_id AND e.account_id = h.account_id
        WHERE (h.status = 'open' AND (h.settled_at IS NOT NULL OR h.captured <> 0))
           OR (h.status <> 'open' AND h.settled_at IS NULL)
           OR (h.status IN ('released', 'expired') AND h.captured <> 0)
           OR (h.status = 'captured' AND h.captured > 0 AND COALESCE(-e.amount, 0) <> h.captured)""",
    ),
    "reversal_exact": (
        "a reversal negates its original entry by entry",
        """
        SELECT r.id::text, 'does not mirror ' || r.reverses_id::text
        FROM ledger_transactions r
        WHERE r.reverses_id IS NOT NULL AND EXISTS (
            (SELECT account_id, -amount FROM ledger_entries WHERE transaction_id = r.reverses_id
             EXCEPT ALL SELECT account_id, amount FROM ledger_entries WHERE transaction_id = r.id)
            UNION ALL
            (SELECT account_id, amount FROM ledger_entries WHERE transaction_id = r.id
             EXCEPT ALL SELECT account_id, -amount FROM ledger_entries WHERE transaction_id = r.reverses_id))""",
    ),
}
LIMIT = 20  # violations listed per check


@dataclass(frozen=True)
class Violation:
    check: str
    rule: str
    subject: str
    detail: str


async def verify(db: AsyncSession) -> list[Violation]:
    found: list[Violation] = []
    for name, (rule, sql) in CHECKS.items():
        for subject, detail in await db.execute(text(f"{sql} LIMIT {LIMIT}")):
            found.append(Violation(name, rule, subject, detail))
    return found
