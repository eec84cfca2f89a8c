"""The model catalog: aliases, prices (credits per 1M tokens), fallback chains. Seeded from settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.ai.models import AiModel
from smile.ai.types import Usage
from smile.config import Settings
from smile.kit.db import driver
from smile.kit.errors import Invalid, NotFound

MILLION = 1_000_000


@dataclass(frozen=True)
class Model:
    id: str
    provider: str
    upstream_model: str
    input_credits_per_m: int
    output_credits_per_m: int
    cached_credits_per_m: int
    context_window: int
    enabled: bool
    fallbacks: tuple[str, ...]

    @classmethod
    def of(cls, row: AiModel) -> Model:
        return cls(
            row.id,
            row.provider,
            row.upstream_model,
            row.input_credits_per_m,
            row.output_credits_per_m,
            row.cached_credits_per_m,
            row.context_window,
            row.enabled,
            tuple(row.fallbacks or ()),
        )

    def cost(self, usage: Usage) -> int:
        """Credits for this usage: the exact sum at per-token rates, rounded up once."""
        cached = min(usage.cached_tokens, usage.input_tokens)
        exact = (
            (usage.input_tokens - cached) * self.input_credits_per_m
            + cached * self.cached_credits_per_m
            + usage.output_tokens * self.output_credits_per_m
        )
        return -(-exact // MILLION)


def _seed_rows(settings: Settings) -> list[dict]:
    price = settings.ai_offline_credits_per_million
    offline = {
        "id": "offline",
        "provider": "offline",
        "upstream_model": "offline",
        "input_credits_per_m": price,
        "output_credits_per_m": price,
        "cached_credits_per_m": price,
        "context_window": 32768,
        "fallbacks": [],
        "position": 1000,
    }
    rows = [{**row, "position": i} for i, row in enumerate(settings.ai_model_list())]
    return rows + [offline]


async def ensure_seeded(db: AsyncSession, settings: Settings) -> None:
    """Insert the configured models that are missing (an admin's edits are kept)."""
    await db.execute(insert(AiModel).values(_seed_rows(settings)).on_conflict_do_nothing(index_elements=["id"]))


_ALL_MODELS = (
    "SELECT id, provider, upstream_model, input_credits_per_m, output_credits_per_m, cached_credits_per_m, "
    "context_window, enabled, fallbacks FROM ai_models {where} ORDER BY position, id"
)


async def all_models(db: AsyncSession, *, enabled_only: bool = False) -> list[Model]:
    """Every model in catalog order (plain SQL: every AI call reads the catalog)."""
    cursor = await (await driver(db)).execute(_ALL_MODELS.format(where="WHERE enabled" if enabled_only else ""))
    return [Model(*row[:8], tuple(row[8] or ())) for row in await cursor.fetchall()]


async def models(
    db: AsyncSession, settings: Settings, *, enabled_only: bool = False, wanted: str | None = None
) -> list[Model]:
    """all_models(), seeding the configured models first when the catalog lacks one of them (first use, or
    SMILE_AI_MODELS names a model added since) or `wanted`: the one place that decides when to seed."""
    found = await all_models(db)
    ids = {m.id for m in found}
    configured = {"offline"} | {row["id"] for row in settings.ai_model_list()}
    if not configured <= ids or (wanted is not None and wanted not in ids):
        await ensure_seeded(db, settings)
        found = await all_models(db)
    return [m for m in found if m.enabled] if enabled_only else found


async def chain(db: AsyncSession, alias: str, providers: set[str], settings: Settings) -> list[Model]:
    """The alias and its enabled fallbacks, in order, keeping only models whose provider is configured."""
    models_by_id = {m.id: m for m in await models(db, settings, wanted=alias)}
    first = models_by_id.get(alias)
    if first is None or not first.enabled:
        raise NotFound(f"No model {alias!r}; GET /api/v1/ai/models lists them.", code="model_not_found")
    out: list[Model] = []
    for name in (alias, *first.fallbacks):
        model = models_by_id.get(name)
        if model and model.enabled and model.provider in providers and model not in out:
            out.append(model)
    if not out:
        raise Invalid(f"Model {alias!r} has no configured provider.", code="model_unavailable")
    return out


async def update(db: AsyncSession, alias: str, changes: dict) -> Model:
    row = await db.get(AiModel, alias, with_for_update=True)
    if row is None:
        raise NotFound(f"No model {alias!r}.", code="model_not_found")
    if alias == "offline" and changes.get("enabled") is False:
        raise Invalid(
            "The offline model cannot be disabled: it is the last fallback.",
            fields={"enabled": "offline stays enabled"},
        )
    if "fallbacks" in changes:
        known = set(await db.scalars(select(AiModel.id)))
        unknown = [f for f in changes["fallbacks"] if f not in known or f == alias]
        if unknown:
            raise Invalid(f"Unknown or circular fallback(s): {', '.join(unknown)}.", fields={"fallbacks": "unknown"})
    for name, value in changes.items():
        setattr(row, name, value)
    await db.flush()
    return Model.of(row)


async def create(db: AsyncSession, data: dict) -> Model:
    if await db.get(AiModel, data["id"]) is not None:
        from smile.kit.errors import Conflict

        raise Conflict(f"Model {data['id']!r} exists.", code="model_exists")
    row = AiModel(**data)
    db.add(row)
    await db.flush()
    return Model.of(row)
