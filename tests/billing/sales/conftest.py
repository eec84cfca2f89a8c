"""Sales fixtures: a seller with a product, buyers with credits, balances read straight from the ledger."""

from __future__ import annotations

import uuid

import pytest

from smile.billing.credits import service as credits_service
from smile.billing.ledger import service as ledger
from smile.billing.ledger.service import CREDITS, Leg
from smile.billing.ledger.verify import verify
from smile.billing.sales import tasks
from tests.admin.helpers import make_admin

API = "/api/v1/billing"
TEN = 1112  # credits worth 10.00 to a seller at the default SMILE_CREDIT_PAYOUT_VALUE (900 per 1,000)


@pytest.fixture
def listing(signup):
    """make(seller_api, price=..., credit_price=...) -> the listing JSON."""

    def make(seller, price: int = 1999, credit_price: int | None = 2000, product_type: str = "digital") -> dict:
        r = seller.post(
            f"{API}/listings",
            json={
                "title": f"Guide {uuid.uuid4().hex[:6]}",
                "price": price,
                "credit_price": credit_price,
                "product_type": product_type,
            },
        )
        assert r.status_code == 201, r.text
        return r.json()

    return make


@pytest.fixture
def fund(ledger_db):
    """Give a user bought credits: the postings and bookkeeping of a paid credit purchase at 1 cent a
    credit, without the checkout (tests/billing/test_credit_cash_properties.py goes through the checkout).
    fund(user, n, bought=False) gives promotional credits instead, as a redeemed code would."""

    def give(user_id, credits: int, bought: bool = True) -> None:
        async def run(database):
            async with database.session() as db:
                user = uuid.UUID(str(user_id))
                wallet = await credits_service.open_wallet(db, user)
                if bought:
                    legs = [
                        Leg(await ledger.platform(db, ledger.CLEARING, "USD"), -credits),
                        Leg(await ledger.platform(db, ledger.REVENUE, "USD"), credits),
                        Leg(await ledger.platform(db, ledger.ISSUANCE, CREDITS), -credits),
                        Leg(wallet, credits),
                    ]
                    kind = "credit_purchase"
                else:
                    legs = [Leg(await ledger.platform(db, ledger.PROMOTIONS, CREDITS), -credits), Leg(wallet, credits)]
                    kind = "promo_redemption"
                await ledger.post(db, kind, legs, key=f"test-fund:{uuid.uuid4()}")
                await credits_service.note_wallet_change(db, user, added=credits, purchased=credits if bought else 0)

        ledger_db(run)

    return give


@pytest.fixture
def balance(db):
    """balance(owner_id | None, purpose, currency="USD") -> the cached balance (0 when no account yet)."""

    def read(owner, purpose: str, currency: str = "USD") -> int:
        if owner is None:
            row = db.execute(
                "SELECT balance FROM ledger_accounts WHERE owner_id IS NULL AND purpose = %s AND currency = %s",
                (purpose, currency),
            ).fetchone()
        else:
            row = db.execute(
                "SELECT balance FROM ledger_accounts WHERE owner_id = %s AND purpose = %s AND currency = %s",
                (str(owner), purpose, currency),
            ).fetchone()
        return row[0] if row else 0

    return read


@pytest.fixture
def violations(ledger_db):
    """The ledger invariants `smile ledger verify` checks; [] when the books are right."""

    def check() -> list:
        async def run(database):
            async with database.session() as db:
                return await verify(db)

        return ledger_db(run)

    return check


@pytest.fixture
def release_job(server):
    """Run the escrow_release job as the worker would, scheduled at `now`."""

    def run(now) -> int:
        return server.call(tasks.escrow_release(timestamp=int(now.timestamp())))

    return run


@pytest.fixture
def admin(signup, db):
    return make_admin(signup, db)


def buy(api, listing_id: str, method: str = "credits", **extra):
    return api.post(f"{API}/listings/{listing_id}/buy", json={"method": method, **extra})


def cooled(db, api) -> None:
    """As if the payout destination's cooling-off period had passed."""
    db.execute(
        "UPDATE payout_accounts SET usable_from = now() - interval '1 minute' WHERE user_id = %s", (api.user["id"],)
    )


def approve(admin, payout: dict) -> dict:
    """An admin approves a payout waiting in review."""
    r = admin.post(f"{API}/admin/payouts/{payout['id']}/approve")
    assert r.status_code == 200, r.text
    return r.json()
