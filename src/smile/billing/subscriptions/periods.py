"""Billing-period arithmetic and proration, in whole minor units."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass


def add_interval(moment: dt.datetime, interval: str) -> dt.datetime:
    """One month or one year later (the 31st becomes the month's last day)."""
    months = 12 if interval == "year" else 1
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _micros(delta: dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def unused_value(price: int, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> int:
    """The part of `price` paid for [start, end) that is still ahead at `now`, rounded down."""
    total = _micros(end - start)
    if total <= 0 or now >= end:
        return 0
    remaining = min(_micros(end - max(now, start)), total)
    return price * remaining // total


@dataclass(frozen=True)
class Proration:
    unused: int  # value left of the current period
    credit: int  # carried from an earlier downgrade
    amount_due: int  # charged now: new price - unused - credit, never below 0
    credit_after: int  # what is left of unused + credit after paying the new period


def prorate(
    current_price: int, new_price: int, start: dt.datetime, end: dt.datetime, now: dt.datetime, credit: int
) -> Proration:
    """Switching now to a new plan whose first period starts now.

    The unused value of the current period plus any carried credit pays for the new period; the rest
    is due now, or what remains is carried as a discount on the next renewals.
    """
    unused = unused_value(current_price, start, end, now)
    available = unused + credit
    return Proration(
        unused=unused,
        credit=credit,
        amount_due=max(0, new_price - available),
        credit_after=max(0, available - new_price),
    )
