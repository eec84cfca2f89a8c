"""Plans: the platform's defaults (created on first use), lookups, and plans other areas create."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.billing.subscriptions.models import INTERVALS, PLATFORM, Plan
from smile.kit import runtime
from smile.kit.errors import Conflict, Invalid, NotFound
from smile.kit.ids import new_id

FREE = "free"  # the platform plan everyone has without subscribing

# The platform's plans: (code, name, price in minor units, trial days, entitlements, description)
DEFAULTS = (
    (
        FREE,
        "Free",
        0,
        0,
        ["post", "message", "ai_basic"],
        "Post, follow and chat, with AI features paid from your credits.",
    ),
    (
        "creator_pro",
        "Creator Pro",
        999,
        0,
        ["post", "message", "ai_basic", "creator_tools", "paid_tiers", "analytics", "custom_profile"],
        "Sell subscriptions and agents, see your analytics, and make your profile your own.",
    ),
    (
        "business",
        "Business",
        4999,
        14,
        [
            "post",
            "message",
            "ai_basic",
            "creator_tools",
            "paid_tiers",
            "analytics",
            "custom_profile",
            "api_priority",
            "crm_sync",
            "team_seats",
        ],
        "Everything in Creator Pro plus priority API capacity, CRM sync and team seats.",
    ),
)


async def ensure_platform_plans(db: AsyncSession) -> None:
    """Create the default platform plans that are missing (an admin's later edits are kept)."""
    found = set(await db.scalars(select(Plan.code).where(Plan.owner_id.is_(None), Plan.product_type == PLATFORM)))
    if all(code in found for code, *_ in DEFAULTS):
        return
    currency = runtime.current().settings.currency
    rows = [
        {
            "id": new_id(),
            "owner_id": None,
            "product_type": PLATFORM,
            "code": code,
            "name": name,
            "description": about,
            "price": price,
            "currency": currency,
            "interval": "month",
            "trial_days": trial,
            "entitlements": ents,
            "position": i,
            "active": True,
        }
        for i, (code, name, price, trial, ents, about) in enumerate(DEFAULTS)
        if code not in found
    ]
    await db.execute(insert(Plan).values(rows).on_conflict_do_nothing())


async def list_plans(
    db: AsyncSession, *, owner_id: uuid.UUID | None = None, product_type: str = PLATFORM
) -> list[Plan]:
    """Active plans of an owner (the platform by default) and product type, in display order."""
    if owner_id is None and product_type == PLATFORM:
        await ensure_platform_plans(db)
    owner = Plan.owner_id.is_(None) if owner_id is None else Plan.owner_id == owner_id
    return list(
        await db.scalars(
            select(Plan)
            .where(owner, Plan.product_type == product_type, Plan.active)
            .order_by(Plan.position, Plan.price, Plan.id)
        )
    )


async def get_plan(db: AsyncSession, plan_id: uuid.UUID) -> Plan:
    plan = await db.get(Plan, plan_id)
    if plan is None:
        raise NotFound("No such plan.")
    return plan


async def find_plan(db: AsyncSession, ref: str) -> Plan:
    """A plan by id, or a platform plan by code (e.g. "creator_pro")."""
    try:
        return await get_plan(db, uuid.UUID(ref))
    except ValueError:
        pass
    await ensure_platform_plans(db)
    plan = await db.scalar(select(Plan).where(Plan.owner_id.is_(None), Plan.product_type == PLATFORM, Plan.code == ref))
    if plan is None:
        raise NotFound(f"No plan {ref!r}. GET /api/v1/billing/plans lists them.")
    return plan


async def free_plan(db: AsyncSession) -> Plan | None:
    await ensure_platform_plans(db)
    return await db.scalar(
        select(Plan).where(Plan.owner_id.is_(None), Plan.product_type == PLATFORM, Plan.code == FREE)
    )


async def create_plan(
    db: AsyncSession,
    *,
    owner_id: uuid.UUID | None,
    product_type: str,
    code: str,
    name: str,
    price: int,
    currency: str | None = None,
    interval: str = "month",
    trial_days: int = 0,
    entitlements: list[str] | None = None,
    description: str = "",
    position: int = 0,
) -> Plan:
    """A new plan (e.g. a creator's tier: owner_id = the creator, product_type = "creator_tier")."""
    if interval not in INTERVALS:
        raise Invalid("The interval must be month or year.", fields={"interval": "month or year"})
    if not isinstance(price, int) or isinstance(price, bool) or price < 0:
        raise Invalid("The price must be a whole, non-negative number of minor units.", fields={"price": "invalid"})
    if trial_days < 0:
        raise Invalid("Trial days cannot be negative.", fields={"trial_days": "invalid"})
    owner = Plan.owner_id.is_(None) if owner_id is None else Plan.owner_id == owner_id
    if await db.scalar(select(Plan.id).where(owner, Plan.product_type == product_type, Plan.code == code)):
        raise Conflict(f"A plan with the code {code!r} already exists.", fields={"code": "taken"})
    plan = Plan(
        id=new_id(),
        owner_id=owner_id,
        product_type=product_type,
        code=code,
        name=name,
        description=description,
        price=price,
        currency=(currency or runtime.current().settings.currency),
        interval=interval,
        trial_days=trial_days,
        entitlements=list(entitlements or []),
        position=position,
        active=True,
    )
    db.add(plan)
    await db.flush()
    return plan
