"""Billing's part of a data export and of an erasure (registered with identity's GDPR registry).

Export: the person's ledger accounts with their own entries and holds (wallet history, earnings, escrow),
payments and the processor events about them, subscriptions and their own plans, sales as buyer and as
seller, listings, payout account and payouts, promo redemptions.

Erasure never moves money and never touches the journal: entries are append-only, the books must still
verify, and the accounts stay with their balances (a debt stays a debt, a balance is not paid out or
turned into anything). The accounts' owner is the anonymized user row, and every account is frozen so
nothing more leaves it. What accounting needs (payments, sales, payouts) stays with the personal fields
cleared; the payout account, saved card and processor customer ids go; live subscriptions end.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Text, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.credits.models import CreditWallet, PromoRedemption
from smile.billing.ledger import service as ledger
from smile.billing.ledger.models import LedgerAccount, LedgerEntry, LedgerHold, LedgerTransaction
from smile.billing.payments import service as payments
from smile.billing.payments.models import Payment, PaymentEvent
from smile.billing.sales import payouts
from smile.billing.sales.models import Listing, Payout, PayoutAccount, Sale
from smile.billing.subscriptions import service as subscriptions
from smile.billing.subscriptions.models import Plan, Subscription
from smile.identity.models import User
from smile.identity.profile import gdpr

ERASED = "[erased]"
# Keys of a processor's event payload that describe the person (Stripe's names): erased, the rest kept.
PERSONAL_KEYS = {
    "email",
    "name",
    "phone",
    "address",
    "billing_details",
    "customer_details",
    "customer_email",
    "customer_name",
    "customer_phone",
    "customer_address",
    "receipt_email",
    "shipping",
    "shipping_details",
    "card",
    "payment_method_details",
    "destination",
}


def _row(obj: Any, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs if c.key not in skip}


async def _rows(db: AsyncSession, stmt: Select, skip: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    return [_row(r, skip) for r in (await db.scalars(stmt)).all()]


async def _ledger(db: AsyncSession, user: User) -> list[dict[str, Any]]:
    """Each account with the person's own entries (the other legs of a transaction belong to others)."""
    out = []
    for account in await db.scalars(
        select(LedgerAccount).where(LedgerAccount.owner_id == user.id).order_by(LedgerAccount.id)
    ):
        entries = [
            {
                "id": e.id,
                "amount": e.amount,
                "currency": e.currency,
                "kind": t.kind,
                "memo": t.memo,
                "reference_type": t.reference_type,
                "reference_id": t.reference_id,
                "transaction_id": t.id,
                "created_at": t.created_at,
            }
            for e, t in (
                await db.execute(
                    select(LedgerEntry, LedgerTransaction)
                    .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
                    .where(LedgerEntry.account_id == account.id)
                    .order_by(LedgerEntry.id)
                )
            ).all()
        ]
        holds = await _rows(
            db,
            select(LedgerHold).where(LedgerHold.account_id == account.id).order_by(LedgerHold.id),
            frozenset({"idempotency_key"}),
        )
        out.append(_row(account) | {"entries": entries, "holds": holds})
    return out


async def export(db: AsyncSession, user: User) -> dict[str, Any]:
    uid = user.id
    paid = select(Payment.id).where(Payment.user_id == uid)
    return {
        "ledger_accounts": await _ledger(db, user),
        "credit_wallet": await _rows(db, select(CreditWallet).where(CreditWallet.user_id == uid)),
        "promo_redemptions": await _rows(
            db, select(PromoRedemption).where(PromoRedemption.user_id == uid).order_by(PromoRedemption.id)
        ),
        "payments": await _rows(db, select(Payment).where(Payment.user_id == uid).order_by(Payment.id)),
        "payment_events": await _rows(
            db, select(PaymentEvent).where(PaymentEvent.payment_id.in_(paid)).order_by(PaymentEvent.received_at)
        ),
        "subscriptions": await _rows(
            db, select(Subscription).where(Subscription.user_id == uid).order_by(Subscription.id)
        ),
        "plans": await _rows(db, select(Plan).where(Plan.owner_id == uid).order_by(Plan.id)),
        "listings": await _rows(db, select(Listing).where(Listing.seller_id == uid).order_by(Listing.id)),
        # a purchase names its seller (a public shop); a sale does not name its buyer (another person)
        "purchases": await _rows(
            db, select(Sale).where(Sale.buyer_id == uid).order_by(Sale.id), frozenset({"refunded_by"})
        ),
        "sales": await _rows(
            db, select(Sale).where(Sale.seller_id == uid).order_by(Sale.id), frozenset({"buyer_id", "refunded_by"})
        ),
        "payout_account": await _rows(db, select(PayoutAccount).where(PayoutAccount.user_id == uid)),
        "payouts": await _rows(
            db, select(Payout).where(Payout.user_id == uid).order_by(Payout.id), frozenset({"settled_by"})
        ),
    }


def _scrub_event(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ERASED if k in PERSONAL_KEYS and v is not None else _scrub_event(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_event(v) for v in value]
    return value


async def erase(db: AsyncSession, user: User) -> list[str]:
    uid = user.id
    await subscriptions.end_for_erasure(db, uid)
    await payouts.fail_open_for_erasure(db, uid)
    await ledger.freeze(db, uid)
    await payments.forget_card(db, uid)
    refs = [
        r
        for row in (
            await db.execute(select(Payment.customer_ref, Payment.subscription_ref).where(Payment.user_id == uid))
        ).all()
        for r in row
        if r
    ]
    refs += [r for r in await db.scalars(select(Subscription.provider_ref).where(Subscription.user_id == uid)) if r]
    about = [PaymentEvent.payment_id.in_(select(Payment.id).where(Payment.user_id == uid))]
    about += [cast(PaymentEvent.payload, Text).contains(f'"{ref}"', autoescape=True) for ref in set(refs)]
    for event in await db.scalars(select(PaymentEvent).where(or_(*about))):
        event.payload = _scrub_event(event.payload)
    await db.execute(update(Payment).where(Payment.user_id == uid).values(customer_ref=None, checkout_url=None))
    await db.execute(update(Subscription).where(Subscription.user_id == uid).values(customer_ref=None))
    await db.execute(update(Plan).where(Plan.owner_id == uid).values(active=False, description=""))
    await db.execute(update(Listing).where(Listing.seller_id == uid).values(active=False, description=""))
    await db.execute(update(Sale).where(or_(Sale.buyer_id == uid, Sale.seller_id == uid)).values(refund_reason=""))
    await db.execute(update(Payout).where(Payout.user_id == uid).values(destination=ERASED))
    await db.execute(delete(PayoutAccount).where(PayoutAccount.user_id == uid))
    await db.flush()
    return []


gdpr.register("billing", export=export, erase=erase)
