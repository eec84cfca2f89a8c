"""Demo money through the billing and hub services: credit purchases paid at the sandbox checkout, a
subscription, a product sold for credits (one sale released to the seller's earnings, one in escrow),
and an API key used for a few calls through the `/v1` gateway (offline model).

Every payment goes the way a real one does: checkout, a signed sandbox event through the webhook intake,
then the event's job (run here directly, exactly as the worker would; the queued job then finds it
handled). Each step checks first whether it already ran, so a second seed changes nothing.
"""

from __future__ import annotations

import httpx
from sqlalchemy import select

from smile.billing.credits import purchases
from smile.billing.credits import service as credits
from smile.billing.payments import events, sandbox
from smile.billing.payments import service as payments
from smile.billing.payments.models import Payment, PaymentEvent
from smile.billing.sales import service as sales
from smile.billing.sales.models import Listing
from smile.billing.subscriptions import service as subscriptions
from smile.hub import service as hub
from smile.hub.models import ApiKey
from smile.hub.schemas import KeyCreate
from smile.kit import runtime
from smile.seed import texts
from smile.seed.community import NEWCOMER, Demo, Step, users

KEY_NAME = "Demo app"
PLAN = "creator_pro"
# (seller, title, description, price in cents, price in credits)
PRODUCTS = [
    (
        NEWCOMER,
        "Prompt pack for community managers",
        "Forty tested prompts for welcoming members, summarizing threads and drafting announcements.",
        500,
        400,
    ),
    (None, "Design critique checklist", "The one-page checklist I use before every design review.", 300, 250),
]


async def _pay(payment: Payment) -> None:
    """Press Pay on the sandbox checkout (as billing.payments.pages does), then handle the event."""
    async with runtime.current().db.session() as db:
        payment = await payments.get(db, payment.id, lock=True)
        if payment.status == "paid":
            return
        if payment.mode == "subscription":
            await payments.remember_card(db, payment, "ok")
        obj = sandbox.checkout_object(payment)
        obj.update(payment_status="paid", status="complete")
        await sandbox.emit(db, sandbox.event(f"evt_sbx_{payment.id.hex}_paid", "checkout.session.completed", obj))
    async with runtime.current().db.session() as db:
        waiting = list(
            await db.scalars(
                select(PaymentEvent.id)
                .where(PaymentEvent.payment_id == payment.id, PaymentEvent.handled_at.is_(None))
                .order_by(PaymentEvent.id)
            )
        )
    for event_id in waiting:
        await events.handle(event_id)


async def buy_credits(demo: Demo, advance: Step) -> None:
    """Everyone buys the Starter package; the newcomer also bought Pro."""
    for name in demo.people:
        for slug in ("starter", "pro") if name == NEWCOMER else ("starter",):
            async with runtime.current().db.session() as db:
                user = (await users(db, [name]))[name]
                key = f"demo-{slug}"
                if (
                    await db.scalar(select(Payment.status).where(Payment.idempotency_key == f"credits:{user.id}:{key}"))
                    == "paid"
                ):
                    continue
                package = next(p for p in await credits.packages(db) if p.slug == slug)
                started = await purchases.start_purchase(db, user, package.id, key=key)
                payment = await payments.get(db, started.payment_id)
            await _pay(payment)
        advance(1)


async def subscribe(demo: Demo, advance: Step) -> None:
    """The newcomer (a creator) pays for Creator Pro by card."""
    if NEWCOMER not in demo.people:
        return
    async with runtime.current().db.session() as db:
        user = (await users(db, [NEWCOMER]))[NEWCOMER]
        if await subscriptions.live(db, user.id) is not None:
            return
        payment, _ = await subscriptions.subscribe(db, user.id, PLAN, key=f"demo-subscription:{user.id}")
    await _pay(payment)
    advance(1)


async def sell(demo: Demo, advance: Step) -> None:
    """Two of the newcomer's followers buy the newcomer's product with credits (one confirms delivery: the
    seller's share is released to their earnings); the newcomer buys another creator's product."""
    if NEWCOMER not in demo.people:
        return
    async with runtime.current().db.session() as db:
        people = await users(db, demo.people)
        creators = [n for n in demo.people if n != NEWCOMER and "creator" in people[n].roles]
        fans = [n for n in demo.followers(NEWCOMER)][:2]
        deals = [(NEWCOMER, fans), (creators[0] if creators else None, [NEWCOMER])]
        for (seller, buyers), (_, title, about, price, credit_price) in zip(deals, PRODUCTS, strict=True):
            if seller is None:
                continue
            listing = await db.scalar(
                select(Listing).where(Listing.seller_id == people[seller].id, Listing.title == title)
            )
            if listing is None:
                listing = await sales.create_listing(
                    db,
                    people[seller].id,
                    product_type="digital",
                    title=title,
                    description=about,
                    price=price,
                    credit_price=credit_price,
                )
            for n, buyer in enumerate(buyers):
                started = await sales.buy_listing(db, people[buyer].id, listing.id, "credits", key="demo")
                if n == 0 and seller == NEWCOMER and started.sale.status == "escrow":
                    await sales.confirm(db, people[buyer].id, started.sale.id)
            advance(1)


async def use_api(demo: Demo, advance: Step) -> None:
    """The newcomer's API key with a credit limit, and a few chat completions through the gateway."""
    if NEWCOMER not in demo.people:
        return
    rt = runtime.current()
    async with rt.db.session() as db:
        user = (await users(db, [NEWCOMER]))[NEWCOMER]
        if await db.scalar(select(ApiKey.id).where(ApiKey.user_id == user.id, ApiKey.name == KEY_NAME)):
            return
        created = await hub.create_key(db, user, KeyCreate(name=KEY_NAME, credit_limit=2000))
    from smile.app import create_app  # the real app: the calls go through auth, limits, metering, usage

    app = create_app(rt.settings, database_url=rt.database_url, run_worker=False)
    headers = {"Authorization": f"Bearer {created.secret}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=rt.settings.base_url, headers=headers, timeout=60
    ) as client:
        for prompt in texts.GATEWAY_PROMPTS:
            r = await client.post(
                "/v1/chat/completions",
                json={"model": "offline", "max_tokens": 200, "messages": [{"role": "user", "content": prompt}]},
            )
            if r.status_code != 200:
                raise RuntimeError(f"demo gateway call failed: {r.status_code} {r.text[:300]}")
            advance(1)
