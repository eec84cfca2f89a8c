"""Credits: packages, the wallet (balance, history, starting grant, low-balance notice), admin adjustments.

Credits move only through the ledger (smile.billing.ledger.service). Purchases and their payment
hooks live in purchases.py, promo codes in promo.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import AsyncIterator

import structlog
from sqlalchemy import func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.credits.models import CreditPackage, CreditWallet
from smile.billing.credits.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    HistoryLine,
    PackageCreate,
    PackageOut,
    PackageUpdate,
    WalletOut,
)
from smile.billing.ledger import service as ledger
from smile.billing.ledger.models import LedgerEntry, LedgerTransaction
from smile.billing.ledger.service import CREDITS, Leg
from smile.identity import audit
from smile.identity.models import User
from smile.kit import mail, runtime
from smile.kit.db import utcnow
from smile.kit.errors import Conflict, Invalid, NotFound
from smile.kit.ids import new_id

log = structlog.get_logger("smile.billing.credits")

# (slug, name, price in minor units, credits, bonus): re-created when the table is empty.
DEFAULT_PACKAGES = [
    ("starter", "Starter", 499, 500, 0),
    ("pro", "Pro", 1999, 2000, 200),
    ("business", "Business", 4999, 5000, 1000),
]
KINDS = (
    "credit_purchase",
    "credit_refund",
    "promo_redemption",
    "signup_grant",
    "admin_adjustment",
    "credit_spend",
    "sale",
    "sale_refund",
    "reversal",
)


def _settings():
    return runtime.current().settings


# ---- packages ----


def package_out(package: CreditPackage) -> PackageOut:
    return PackageOut(
        id=package.id,
        slug=package.slug,
        name=package.name,
        price=package.price,
        currency=_settings().currency,
        credits=package.credits,
        bonus=package.bonus,
        total=package.total,
        active=package.active,
    )


async def packages(db: AsyncSession, *, include_inactive: bool = False) -> list[CreditPackage]:
    """Packages in display order; the default three are put back if the table is empty."""
    stmt = select(CreditPackage).order_by(CreditPackage.position, CreditPackage.price)
    rows = list(await db.scalars(stmt))
    if not rows:
        await db.execute(
            insert(CreditPackage)
            .values(
                [
                    {
                        "id": new_id(),
                        "slug": slug,
                        "name": name,
                        "price": price,
                        "credits": credits,
                        "bonus": bonus,
                        "position": i,
                    }
                    for i, (slug, name, price, credits, bonus) in enumerate(DEFAULT_PACKAGES, 1)
                ]
            )
            .on_conflict_do_nothing()
        )
        rows = list(await db.scalars(stmt))
    return rows if include_inactive else [p for p in rows if p.active]


async def get_package(db: AsyncSession, package_id: uuid.UUID) -> CreditPackage:
    package = await db.get(CreditPackage, package_id)
    if package is None:
        raise NotFound("No such credit package.")
    return package


def _check_value(price: int, credits: int) -> None:
    """A package never sells bought credits below what a seller is paid for them, or credits would buy cash."""
    value = _settings().credit_payout_value
    if price * 1000 < credits * value:
        least = -(-credits * value // 1000)
        raise Invalid(
            f"{credits:,} credits cost at least {least:,} (minor units): sellers are paid {value:,} per "
            "1,000 credits (SMILE_CREDIT_PAYOUT_VALUE), so a cheaper package would turn credits into cash.",
            fields={"price": f"at least {least}"},
        )


async def create_package(db: AsyncSession, admin: User, data: PackageCreate, ip: str = "") -> CreditPackage:
    _check_value(data.price, data.credits)
    if await db.scalar(select(CreditPackage.id).where(CreditPackage.slug == data.slug)):
        raise Conflict("A package with this slug exists already.", fields={"slug": "taken"})
    package = CreditPackage(**data.model_dump())
    db.add(package)
    await db.flush()
    await audit.record(
        db, admin.id, "credits.package_created", package.id, target_type="credit_package", ip=ip, **data.model_dump()
    )
    return package


async def update_package(
    db: AsyncSession, admin: User, package_id: uuid.UUID, data: PackageUpdate, ip: str = ""
) -> CreditPackage:
    """Change price, credits, bonus or active; purchases already started keep what they were sold."""
    package = await get_package(db, package_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    _check_value(changes.get("price", package.price), changes.get("credits", package.credits))
    for name, value in changes.items():
        setattr(package, name, value)
    package.updated_at = utcnow()
    await db.flush()
    if changes:
        await audit.record(
            db, admin.id, "credits.package_updated", package.id, target_type="credit_package", ip=ip, **changes
        )
    return package


# ---- the wallet ----


async def open_wallet(db: AsyncSession, user_id: uuid.UUID) -> uuid.UUID:
    """The user's wallet account id; on the first call the starting grant (settings.starting_credits) lands."""
    wallet_id = await ledger.wallet(db, user_id)
    if await db.get(CreditWallet, user_id) is not None:
        return wallet_id
    created = await db.scalar(
        insert(CreditWallet).values(user_id=user_id).on_conflict_do_nothing().returning(CreditWallet.user_id)
    )
    grant = _settings().starting_credits
    if created and grant > 0:
        promotions = await ledger.platform(db, ledger.PROMOTIONS, CREDITS)
        await ledger.post(
            db,
            "signup_grant",
            [Leg(promotions, -grant), Leg(wallet_id, grant)],
            key=f"signup_grant:{user_id}",
            reference=("user", user_id),
            memo="Welcome credits",
        )
        await topped_up(db, user_id)
    return wallet_id


# ---- payable credits: the only credits that may pay another person ----
#
# Credits a user bought (a package's paid credits, not its bonus) and still holds, counting bonus,
# promotional, granted and adjusted credits as spent first. Buying adds, paying a person or a refund of a
# purchase takes away; AI spending does not touch the row (it is the hot path): instead every change that
# adds credits first caps `payable` at what the wallet held just before it, which is exactly what
# bonus-first spending leaves. So cash paid to sellers for credits never exceeds the cash that bought them.

_NOTE = text("""
    UPDATE credit_wallets w SET payable = GREATEST(0, LEAST(w.payable, a.balance - a.held - :added) + :purchased)
    FROM ledger_accounts a
    WHERE w.user_id = :user AND a.owner_id = :user AND a.purpose = 'wallet' AND a.currency = 'CRD'
""")


async def note_wallet_change(db: AsyncSession, user_id: uuid.UUID, *, added: int, purchased: int = 0) -> None:
    """Call after a posting changed the user's wallet by `added` credits (negative: taken), of which
    `purchased` were bought credits arriving (+) or leaving (-): keeps `payable` exact."""
    await open_wallet(db, user_id)
    await db.execute(_NOTE, {"user": user_id, "added": added, "purchased": purchased})


async def payable(db: AsyncSession, user_id: uuid.UUID, *, lock: bool = False) -> int:
    """Credits the user may pay another person with now (lock=True holds the row until the caller's commit,
    so two payments cannot both count the same credits)."""
    await open_wallet(db, user_id)
    stmt = select(CreditWallet.payable).where(CreditWallet.user_id == user_id)
    stored = await db.scalar(stmt.with_for_update() if lock else stmt)
    return max(0, min(stored or 0, (await ledger.wallet_balance(db, user_id)).available))


async def wallet_balance(db: AsyncSession, user_id: uuid.UUID) -> WalletOut:
    found = await ledger.balance(db, await open_wallet(db, user_id))
    return WalletOut(
        balance=found.balance,
        held=found.held,
        available=found.available,
        low_balance_threshold=_settings().low_balance_credits,
    )


def _line(line: ledger.Line) -> HistoryLine:
    return HistoryLine(
        id=line.id,
        amount=line.amount,
        kind=line.kind,
        memo=line.memo,
        reference_type=line.reference_type,
        reference_id=line.reference_id,
        transaction_id=line.transaction_id,
        created_at=line.created_at,
    )


async def history(
    db: AsyncSession,
    user_id: uuid.UUID,
    cursor: str | None,
    limit: int,
    *,
    kind: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> tuple[list[HistoryLine], str | None]:
    """The wallet's entries, newest first."""
    lines, next_cursor = await ledger.statement(
        db, await open_wallet(db, user_id), cursor, limit, kind=kind, since=since, until=until
    )
    return [_line(line) for line in lines], next_cursor


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def history_csv(
    user_id: uuid.UUID,
    *,
    kind: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    page: int = 500,
) -> AsyncIterator[str]:
    """The filtered history as CSV, streamed page by page in its own database session."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["date", "kind", "amount", "memo", "reference_type", "reference_id", "transaction_id"])
    yield buffer.getvalue()
    async with runtime.current().db.session() as db:
        wallet_id = await ledger.wallet(db, user_id)
        cursor: str | None = None
        while True:
            lines, cursor = await ledger.statement(db, wallet_id, cursor, page, kind=kind, since=since, until=until)
            buffer.seek(0)
            buffer.truncate()
            for line in lines:
                writer.writerow(
                    [
                        line.created_at.isoformat(),
                        line.kind,
                        line.amount,
                        _cell(line.memo),
                        line.reference_type or "",
                        line.reference_id or "",
                        line.transaction_id,
                    ]
                )
            yield buffer.getvalue()
            if cursor is None:
                return


async def balance_series(db: AsyncSession, user_id: uuid.UUID, days: int = 30) -> list[tuple[str, int]]:
    """End-of-day balances for the last `days` days (UTC), for the wallet chart."""
    wallet_id = await ledger.wallet(db, user_id)
    current = (await ledger.balance(db, wallet_id)).balance
    today = utcnow().date()
    start = today - dt.timedelta(days=days - 1)
    day = func.date_trunc("day", func.timezone("UTC", LedgerTransaction.created_at)).label("day")
    rows = await db.execute(
        select(day, func.sum(LedgerEntry.amount))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(
            LedgerEntry.account_id == wallet_id,
            LedgerTransaction.created_at >= dt.datetime.combine(start, dt.time(), dt.UTC),
        )
        .group_by(day)
    )
    net = {r[0].date(): int(r[1]) for r in rows}
    series, balance = [], current
    for offset in range(days):  # walk back from today: the balance before a day is its end minus its net
        date = today - dt.timedelta(days=offset)
        series.append((date.isoformat(), balance))
        balance -= net.get(date, 0)
    return series[::-1]


# ---- low balance ----


async def topped_up(db: AsyncSession, user_id: uuid.UUID) -> None:
    """After credits arrive: re-arm the low-balance notice once the available balance reaches the threshold."""
    threshold = _settings().low_balance_credits
    found = await ledger.balance(db, await ledger.wallet(db, user_id))
    if threshold > 0 and found.available >= threshold:
        await db.execute(
            update(CreditWallet)
            .where(CreditWallet.user_id == user_id, CreditWallet.low_balance_armed.is_(False))
            .values(low_balance_armed=True)
        )


def may_be_low(available: int | None) -> bool:
    """Whether `spent` could send a notice for this available balance (None: unknown), without a query."""
    threshold = _settings().low_balance_credits
    return threshold > 0 and (available is None or available < threshold)


async def spent(db: AsyncSession, user_id: uuid.UUID, available: int | None = None) -> bool:
    """Call after taking credits from a wallet (`available`: its balance - held now, when the caller has it):
    when the available balance fell below settings.low_balance_credits, email the user once per crossing.
    Returns True when a notice was queued."""
    threshold = _settings().low_balance_credits
    if threshold <= 0:
        return False
    if available is None:
        available = (await ledger.wallet_balance(db, user_id)).available
    if available >= threshold:
        return False
    disarmed = await db.scalar(
        update(CreditWallet)
        .where(CreditWallet.user_id == user_id, CreditWallet.low_balance_armed.is_(True))
        .values(low_balance_armed=False, low_balance_notified_at=utcnow())
        .returning(CreditWallet.user_id)
    )
    if disarmed is None:
        return False
    user = await db.get(User, user_id)
    if user is None or user.status != "active":
        return False
    base = _settings().base_url.rstrip("/")
    await mail.send(
        db,
        user.email,
        "Your smile credits are running low",
        f"Hi {user.display_name},\n\nYou have {available:,} credits left, below your "
        f"low-balance mark of {threshold:,}.\n\nTop up at {base}/billing/wallet so nothing stops "
        "halfway.\n\n— smile",
    )
    log.info("low_balance_notice", user_id=str(user_id), available=available)
    return True


# ---- admin adjustment ----


async def find_user(db: AsyncSession, ref: str) -> User:
    """A user by id, username or email."""
    ref = ref.strip().lstrip("@")
    try:
        where = User.id == uuid.UUID(ref)
    except ValueError:
        where = or_(func.lower(User.username) == ref.lower(), func.lower(User.email) == ref.lower())
    user = await db.scalar(select(User).where(where, User.status != "deleted"))
    if user is None:
        raise NotFound("No such user.", fields={"user": "no account with this id, username or email"})
    return user


async def adjust(db: AsyncSession, admin: User, data: AdjustmentIn, key: str | None, ip: str = "") -> AdjustmentOut:
    """Add or take credits with a reason; audited. A wallet never goes below zero (402)."""
    user = await find_user(db, data.user)
    wallet_id = await open_wallet(db, user.id)
    adjustments = await ledger.platform(db, ledger.ADJUSTMENTS, CREDITS)
    try:
        posted = await ledger.post(
            db,
            "admin_adjustment",
            [Leg(adjustments, -data.amount), Leg(wallet_id, data.amount)],
            key=f"adjust:{admin.id}:{key or new_id()}",
            reference=("user", user.id),
            memo="Balance adjustment by smile support",
            data={"reason": data.reason},
            created_by=admin.id,
            check_frozen=False,
        )
    except ledger.InsufficientFunds:
        available = (await ledger.balance(db, wallet_id)).available
        raise ledger.InsufficientFunds(
            f"@{user.username} has only {available:,} credits available; cannot take {-data.amount:,}.",
            fields={"amount": "more than the balance"},
        ) from None
    if not posted.replayed:
        await note_wallet_change(db, user.id, added=data.amount)  # granted credits never pay people
        await audit.record(
            db,
            admin.id,
            "credits.adjusted",
            user.id,
            ip=ip,
            amount=data.amount,
            reason=data.reason,
            transaction_id=str(posted.transaction_id),
        )
        if data.amount > 0:
            await topped_up(db, user.id)
        else:
            await spent(db, user.id)
    balance = (await ledger.balance(db, wallet_id)).balance
    return AdjustmentOut(
        transaction_id=posted.transaction_id,
        user_id=user.id,
        amount=data.amount,
        balance=balance,
        replayed=posted.replayed,
    )
