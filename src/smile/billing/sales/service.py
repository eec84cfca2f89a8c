"""Sales: the fee split, card or credit payment, escrow, confirmation and refunds.

Other modules sell through `start_sale(...)`; this module's own products are `listings`.
Ledger kinds (see docs/billing/sales.md): "sale", "escrow_release", "sale_refund".
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.credits import service as credits
from smile.billing.ledger import service as ledger
from smile.billing.ledger.models import LedgerEntry
from smile.billing.ledger.service import CREDITS, Leg
from smile.billing.payments import hooks
from smile.billing.payments.models import Payment
from smile.billing.sales.models import METHODS, Listing, Sale
from smile.identity.models import User
from smile.kit import runtime
from smile.kit.db import utcnow
from smile.kit.errors import Conflict, Forbidden, Invalid, NotFound
from smile.kit.ids import new_id
from smile.kit.pagination import keyset, page_of

log = structlog.get_logger("smile.billing.sales")

PURPOSE = "sale"  # payments' purpose for card-paid sales
PRODUCT_TYPE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")


def _settings():
    return runtime.current().settings


def _payments():
    from smile.billing.payments import (
        service as payments,  # imported late: payments may import areas' hooks
    )

    return payments


# ---------------------------------------------------------------- fees


@dataclass(frozen=True)
class Split:
    percent: int
    fee: int  # the platform's share: floor(price * percent / 100)
    seller: int  # the rest: price - fee


def fee_overrides(raw: str) -> dict[str, int]:
    """Parse "type=percent,..." (e.g. "agent=30,mentoring=20"); malformed entries are skipped and logged."""
    found: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        name, _, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if PRODUCT_TYPE.match(name) and value.isdigit() and 0 <= int(value) <= 100:
            found[name] = int(value)
        else:
            log.error("bad_platform_fee_override", entry=part, hint="SMILE_PLATFORM_FEE_OVERRIDES=type=percent,...")
    return found


def fee_percent(product_type: str) -> int:
    settings = _settings()
    return fee_overrides(settings.platform_fee_overrides).get(product_type, settings.platform_fee_percent)


def split(price: int, percent: int) -> Split:
    """The platform's fee is rounded down to a whole minor unit; the seller gets every remaining unit."""
    if not isinstance(price, int) or price <= 0:
        raise Invalid("A price is a positive whole number of minor units (cents).", fields={"price": "must be > 0"})
    fee = price * percent // 100
    return Split(percent=percent, fee=fee, seller=price - fee)


def credit_value(credits: int) -> int:
    """What `credits` paid to a seller are worth in minor units, before the fee: one operator-set rate
    (settings.credit_payout_value per 1,000 credits), never a price the seller chose."""
    return credits * _settings().credit_payout_value // 1000


def _check_credit_price(credit_price: int | None) -> None:
    if credit_price is None:
        return
    value = _settings().credit_payout_value
    if value == 0:
        raise Invalid(
            "Paying sellers in credits is turned off on this platform; sell for card payment only.",
            fields={"credit_price": "credit payments are off"},
        )
    least = -(-1000 // value)  # the smallest number of credits worth one minor unit
    if credit_price < least:
        raise Invalid(
            f"A credit price is at least {least} credits (worth one cent to the seller).",
            fields={"credit_price": f"at least {least}"},
        )


# ---------------------------------------------------------------- listings


def _check_type(product_type: str) -> None:
    if not PRODUCT_TYPE.match(product_type or ""):
        raise Invalid(
            "A product type is 2-40 lowercase letters, digits, '-' or '_' (e.g. \"ebook\").",
            fields={"product_type": "invalid"},
        )


async def create_listing(
    db: AsyncSession,
    seller_id: uuid.UUID,
    *,
    product_type: str,
    title: str,
    description: str,
    price: int,
    credit_price: int | None,
) -> Listing:
    _check_type(product_type)
    _check_credit_price(credit_price)
    listing = Listing(
        id=new_id(),
        seller_id=seller_id,
        product_type=product_type,
        title=title.strip(),
        description=description.strip(),
        price=price,
        currency=_settings().currency,
        credit_price=credit_price,
        active=True,
    )
    db.add(listing)
    await db.flush()
    return listing


async def get_listing(db: AsyncSession, viewer_id: uuid.UUID | None, listing_id: uuid.UUID) -> Listing:
    """An active listing, or any of the viewer's own; 404 otherwise."""
    listing = await db.get(Listing, listing_id)
    if listing is None or (not listing.active and listing.seller_id != viewer_id):
        raise NotFound("No such product.")
    return listing


async def update_listing(db: AsyncSession, seller_id: uuid.UUID, listing_id: uuid.UUID, changes: dict) -> Listing:
    listing = await db.get(Listing, listing_id, with_for_update=True)
    if listing is None or listing.seller_id != seller_id:
        raise NotFound("No such product.")
    _check_credit_price(changes.get("credit_price"))
    for name in ("title", "description", "price", "credit_price", "active"):
        if name in changes:
            value = changes[name]
            if value is None and name != "credit_price":  # credit_price null: card only from now on
                raise Invalid(f"{name} cannot be null.", fields={name: "required"})
            setattr(listing, name, value.strip() if isinstance(value, str) else value)
    await db.flush()
    return listing


async def listings_of(
    db: AsyncSession, seller_id: uuid.UUID, cursor: str | None, limit: int, active_only: bool = False
) -> tuple[list[Listing], str | None]:
    stmt = select(Listing).where(Listing.seller_id == seller_id)
    if active_only:
        stmt = stmt.where(Listing.active)
    return page_of(list(await db.scalars(keyset(stmt, Listing.id, cursor, limit))), limit)


async def buy_listing(
    db: AsyncSession, buyer_id: uuid.UUID, listing_id: uuid.UUID, method: str, key: str | None = None
) -> Started:
    settings = _settings()
    await runtime.current().limiter.hit(
        settings.rate_purchase, "purchase", str(buyer_id), message="Too many purchases."
    )
    listing = await get_listing(db, buyer_id, listing_id)
    if not listing.active:
        raise Conflict("This product is not on sale right now.", code="listing_inactive")
    return await start_sale(
        db,
        buyer_id,
        listing.seller_id,
        listing.product_type,
        str(listing.id),
        listing.title,
        listing.price,
        method,
        credit_price=listing.credit_price,
        key=key and f"listing:{buyer_id}:{key}",
    )


# ---------------------------------------------------------------- sales


@dataclass(frozen=True)
class Started:
    sale: Sale
    checkout_url: str | None  # card: where to send the buyer; credits: None (already paid)


async def start_sale(
    db: AsyncSession,
    buyer_id: uuid.UUID,
    seller_id: uuid.UUID,
    product_type: str,
    product_ref: str,
    title: str,
    price: int,
    method: str,
    *,
    credit_price: int | None = None,
    key: str | None = None,
    success_url: str | None = None,
    cancel_url: str | None = None,
) -> Started:
    """Sell a product: by card (returns the checkout URL; settled by the payment hook) or by credits (now).

    `key` makes the call idempotent (a replay returns the first sale). Raises 402 when the wallet
    cannot pay, 403 when the buyer's account is frozen.
    """
    if method not in METHODS:
        raise Invalid('Pay by "card" or "credits".', fields={"method": "card or credits"})
    _check_type(product_type)
    if buyer_id == seller_id:
        raise Invalid("You cannot buy your own product.", code="own_product")
    if method == "credits":
        if not credit_price:
            raise Invalid(
                "This product cannot be bought with credits; pay by card.", fields={"method": "no credit price"}
            )
        _check_credit_price(credit_price)
        price = credit_value(credit_price)  # the seller is paid the platform's value of the credits
    share = split(price, fee_percent(product_type))
    key = key or f"sale:{new_id()}"
    if found := await db.scalar(select(Sale).where(Sale.idempotency_key == key)):
        return await _replay(db, found, buyer_id)
    if await ledger.is_frozen(db, buyer_id):
        raise ledger.AccountFrozen()
    sale = Sale(
        id=new_id(),
        buyer_id=buyer_id,
        seller_id=seller_id,
        product_type=product_type,
        product_ref=str(product_ref)[:100],
        title=title[:200],
        price=price,
        currency=_settings().currency,
        fee=share.fee,
        fee_percent=share.percent,
        method=method,
        credit_price=credit_price if method == "credits" else None,
        status="pending",
        idempotency_key=key,
    )
    try:
        async with db.begin_nested():  # a refused payment leaves nothing behind in the caller's transaction
            db.add(sale)
            await db.flush()
            if method == "credits":
                await _settle_by_credits(db, sale)
                return Started(sale, None)
            payment = await _payments().start_checkout(
                db,
                buyer_id,
                purpose=PURPOSE,
                reference_id=str(sale.id),
                amount=price,
                currency=sale.currency,
                description=title[:300],
                key=f"sale:{sale.id}:checkout",
                success_url=success_url or f"/billing/purchases?sale={sale.id}",
                cancel_url=cancel_url or f"/billing/purchases?sale={sale.id}&canceled=1",
                data={"sale_id": str(sale.id), "seller_id": str(seller_id)},
            )
            sale.payment_id = payment.id
            await db.flush()
    except IntegrityError:  # the same key raced in from a parallel request
        found = await db.scalar(select(Sale).where(Sale.idempotency_key == key))
        if found is None:
            raise
        return await _replay(db, found, buyer_id)
    return Started(sale, payment.checkout_url)


async def _replay(db: AsyncSession, sale: Sale, buyer_id: uuid.UUID) -> Started:
    if sale.buyer_id != buyer_id:
        raise Conflict("This idempotency key was used for another purchase.", code="key_reused")
    url = None
    if sale.payment_id and sale.status == "pending":
        url = await db.scalar(select(Payment.checkout_url).where(Payment.id == sale.payment_id))
    return Started(sale, url)


async def _settle_by_credits(db: AsyncSession, sale: Sale) -> None:
    """Credits retire into ISSUANCE; the money side (the credits' platform value) moves out of ISSUANCE into
    the fee and the seller's escrow. Only payable (bought) credits may pay: 402 otherwise."""
    payable = await credits.payable(db, sale.buyer_id, lock=True)
    if payable < sale.credit_price <= (await ledger.wallet_balance(db, sale.buyer_id)).available:
        raise ledger.InsufficientFunds(
            f"This costs {sale.credit_price:,} credits and {payable:,} of yours can pay other people: only "
            "credits you bought can (bonus, promo and welcome credits pay for AI use). Buy credits or pay by card.",
            code="credits_not_payable",
            fields={"method": "not enough bought credits"},
        )
    cur = sale.currency
    legs = [
        Leg(await ledger.wallet(db, sale.buyer_id), -sale.credit_price),
        Leg(await ledger.platform(db, ledger.ISSUANCE, CREDITS), sale.credit_price),
        Leg(await ledger.platform(db, ledger.ISSUANCE, cur), -sale.price),
        Leg(await ledger.platform(db, ledger.FEES, cur), sale.fee),
        Leg(await ledger.account(db, sale.seller_id, ledger.ESCROW, cur), sale.seller_amount),
    ]
    posted = await ledger.post(
        db,
        "sale",
        legs,
        key=f"sale:{sale.id}:paid",
        reference=("sale", sale.id),
        memo=f"Sale: {sale.title}"[:500],
        created_by=sale.buyer_id,
        data={"method": "credits", "fee": sale.fee, "credits": sale.credit_price},
    )
    await credits.note_wallet_change(db, sale.buyer_id, added=-sale.credit_price, purchased=-sale.credit_price)
    _mark_paid(sale, posted.transaction_id)
    await db.flush()


def _mark_paid(sale: Sale, transaction_id: uuid.UUID) -> None:
    now = utcnow()
    sale.status, sale.paid_at, sale.transaction_id = "escrow", now, transaction_id
    sale.escrow_until = now + dt.timedelta(days=_settings().escrow_days)


async def _locked(db: AsyncSession, sale_id: uuid.UUID | str) -> Sale | None:
    try:
        sale_id = uuid.UUID(str(sale_id))
    except ValueError:
        return None
    return await db.scalar(select(Sale).where(Sale.id == sale_id).with_for_update())


@hooks.paid(PURPOSE)
async def _card_paid(db: AsyncSession, payment: Payment) -> None:
    sale = await _locked(db, payment.reference_id)
    if sale is None:
        log.error("sale_payment_without_sale", payment_id=str(payment.id), reference=payment.reference_id)
        return
    if sale.status not in ("pending", "failed"):
        return  # already settled
    cur = sale.currency
    legs = [
        Leg(await ledger.platform(db, ledger.CLEARING, cur), -sale.price),
        Leg(await ledger.platform(db, ledger.FEES, cur), sale.fee),
        Leg(await ledger.account(db, sale.seller_id, ledger.ESCROW, cur), sale.seller_amount),
    ]
    posted = await ledger.post(
        db,
        "sale",
        legs,
        key=f"sale:{sale.id}:paid",
        reference=("sale", sale.id),
        memo=f"Sale: {sale.title}"[:500],
        created_by=sale.buyer_id,
        check_frozen=False,
        data={"method": "card", "fee": sale.fee, "payment_id": str(payment.id)},
    )
    sale.payment_id = payment.id
    _mark_paid(sale, posted.transaction_id)
    await db.flush()


@hooks.failed(PURPOSE)
async def _card_failed(db: AsyncSession, payment: Payment) -> None:
    sale = await _locked(db, payment.reference_id)
    if sale is not None and sale.status == "pending":
        sale.status = "failed"
        await db.flush()


@hooks.refunded(PURPOSE)
async def _card_refunded(db: AsyncSession, payment: Payment, amount: int, key: str) -> None:
    """The processor confirmed a refund. Ours were already reversed when asked; one made elsewhere
    (e.g. the Stripe dashboard) reverses the escrow if still held, else the platform absorbs it."""
    sale = await _locked(db, payment.reference_id)
    if sale is None or sale.status == "refunded":
        return
    if sale.status == "escrow" and amount >= sale.price:
        await _reverse(db, sale, None, "Refunded at the payment processor")
        return
    cur = sale.currency
    await ledger.post(
        db,
        "sale_refund",
        [
            Leg(await ledger.platform(db, ledger.REFUNDS, cur), -amount),
            Leg(await ledger.platform(db, ledger.CLEARING, cur), amount),
        ],
        key=f"sale:{sale.id}:refund:{key}",
        reference=("sale", sale.id),
        check_frozen=False,
        memo="Refund made at the processor after escrow; absorbed by the platform",
    )
    log.warning("sale_refunded_outside_window", sale_id=str(sale.id), amount=amount, status=sale.status)


async def _reverse(db: AsyncSession, sale: Sale, actor_id: uuid.UUID | None, reason: str) -> None:
    """Undo the sale's posting exactly (escrow, fee, and the card clearing or the buyer's credits)."""
    rows = (
        await db.execute(
            select(LedgerEntry.account_id, LedgerEntry.amount).where(LedgerEntry.transaction_id == sale.transaction_id)
        )
    ).all()
    await ledger.post(
        db,
        "sale_refund",
        [Leg(r.account_id, -r.amount) for r in rows],
        key=f"sale:{sale.id}:refund",
        reference=("sale", sale.id),
        memo=f"Refund: {reason}"[:500],
        created_by=actor_id,
        reverses_id=sale.transaction_id,
        check_frozen=False,
    )
    if sale.method == "credits":  # the bought credits come back as bought credits
        await credits.note_wallet_change(db, sale.buyer_id, added=sale.credit_price, purchased=sale.credit_price)
    sale.status, sale.refunded_at, sale.refunded_by, sale.refund_reason = "refunded", utcnow(), actor_id, reason[:500]
    await db.flush()


async def get_sale(db: AsyncSession, viewer: User, sale_id: uuid.UUID) -> Sale:
    """The buyer, the seller and admins see a sale; anyone else gets 404."""
    sale = await db.get(Sale, sale_id)
    if sale is None or viewer.id not in (sale.buyer_id, sale.seller_id) and not viewer.is_admin:
        raise NotFound("No such sale.")
    return sale


async def sales_of(
    db: AsyncSession, user_id: uuid.UUID, role: str, cursor: str | None, limit: int, status: str | None = None
) -> tuple[list[Sale], str | None]:
    column = Sale.seller_id if role == "seller" else Sale.buyer_id
    stmt = select(Sale).where(column == user_id)
    if status:
        stmt = stmt.where(Sale.status == status)
    else:
        stmt = stmt.where(Sale.status != "pending") if role == "seller" else stmt
    return page_of(list(await db.scalars(keyset(stmt, Sale.id, cursor, limit))), limit)


def _not_in_escrow(sale: Sale, action: str) -> Conflict:
    if sale.status == "released":
        when = sale.released_at.strftime("%Y-%m-%d %H:%M UTC") if sale.released_at else "earlier"
        return Conflict(
            f"Cannot {action}: the escrow window closed and the money was released to the seller "
            f"({when}). Refunds after release go through support.",
            code="escrow_released",
        )
    if sale.status == "refunded":
        return Conflict(f"Cannot {action}: this sale was already refunded.", code="already_refunded")
    return Conflict(f"Cannot {action}: this sale has not been paid.", code="not_paid")


async def confirm(db: AsyncSession, buyer_id: uuid.UUID, sale_id: uuid.UUID) -> Sale:
    """The buyer confirms delivery: the seller's share leaves escrow now."""
    sale = await _locked(db, sale_id)
    if sale is None or sale.buyer_id != buyer_id:
        raise NotFound("No such purchase.")
    if sale.status != "escrow":
        raise _not_in_escrow(sale, "confirm")
    await _release(db, sale)
    return sale


async def refund(db: AsyncSession, actor: User, sale_id: uuid.UUID, reason: str) -> Sale:
    """The seller or an admin refunds a sale still in escrow: the posting is reversed and a card is refunded."""
    sale = await _locked(db, sale_id)
    if sale is None or actor.id not in (sale.buyer_id, sale.seller_id) and not actor.is_admin:
        raise NotFound("No such sale.")
    if actor.id != sale.seller_id and not actor.is_admin:
        raise Forbidden("Only the seller or an admin can refund a sale; ask the seller.", code="not_seller")
    if sale.status != "escrow":
        raise _not_in_escrow(sale, "refund")
    reason = reason.strip() or "Refunded by the seller"
    await _reverse(db, sale, actor.id, reason)
    if sale.method == "card":
        await _payments().refund(db, sale.payment_id, sale.price, key=f"sale:{sale.id}:refund", reason=reason)
    return sale


async def _release(db: AsyncSession, sale: Sale) -> None:
    if sale.seller_amount:
        cur = sale.currency
        await ledger.post(
            db,
            "escrow_release",
            [
                Leg(await ledger.account(db, sale.seller_id, ledger.ESCROW, cur), -sale.seller_amount),
                Leg(await ledger.account(db, sale.seller_id, ledger.EARNINGS, cur), sale.seller_amount),
            ],
            key=f"sale:{sale.id}:release",
            reference=("sale", sale.id),
            check_frozen=False,
            memo=f"Escrow released: {sale.title}"[:500],
        )
    sale.status, sale.released_at = "released", utcnow()
    await db.flush()


async def release_due(db: AsyncSession, now: dt.datetime | None = None, batch: int = 200) -> int:
    """Release every sale whose escrow period ended by `now` (the periodic job's body)."""
    due = list(
        await db.scalars(
            select(Sale)
            .where(Sale.status == "escrow", Sale.escrow_until <= (now or utcnow()))
            .order_by(Sale.escrow_until)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    )
    for sale in due:
        await _release(db, sale)
    return len(due)
