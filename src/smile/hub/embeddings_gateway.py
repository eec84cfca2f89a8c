"""POST /v1/embeddings for the gateway: OpenAI's body and reply, metered like chat on input tokens only.

The cost is known before the call (tokens counted locally, at the offline model's input price unless the
catalog has a row named like the embeddings model), so the wallet hold is exact; one ai_usage row per call.
"""

from __future__ import annotations

import base64
import struct
from typing import Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from smile.ai import embeddings, metering, tokens
from smile.ai.catalog import MILLION
from smile.ai.models import AiModel, AiUsage
from smile.billing.ledger.service import InsufficientFunds
from smile.config import Settings
from smile.hub import service
from smile.hub.auth import ApiKeyPrincipal
from smile.hub.errors import OpenAIError
from smile.hub.limits import check_rate
from smile.kit import runtime
from smile.kit.db import commit, utcnow
from smile.kit.errors import AppError
from smile.kit.fields import int32
from smile.kit.ids import new_id


class EmbeddingsIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = Field(min_length=1, max_length=100)
    input: str | list[str] | list[int32(ge=0)] | list[list[int32(ge=0)]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int32(ge=1) | None = None
    user: str | None = None


def model_id(settings: Settings) -> str:
    return embeddings.model_name(settings)


def usable(settings: Settings) -> bool:
    """True when this server can embed: an endpoint is configured or the local model is installed."""
    return embeddings.describe(settings)[0]


def _texts(body: EmbeddingsIn) -> list[str]:
    texts = [body.input] if isinstance(body.input, str) else body.input
    if not texts:
        raise _bad("Send at least one input.", "input")
    if not all(isinstance(t, str) for t in texts):
        raise _bad("Token arrays are not supported: send the input as text.", "input")
    if len(texts) > embeddings.MAX_TEXTS:
        raise _bad(f"Send at most {embeddings.MAX_TEXTS} inputs per request.", "input")
    if any(not t.strip() for t in texts):
        raise _bad("Inputs must not be empty.", "input")
    return texts  # type: ignore[return-value]


def _bad(message: str, param: str) -> OpenAIError:
    return OpenAIError(message, status=400, code="invalid_request", type="invalid_request_error", param=param)


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


async def _price(db, name: str, settings: Settings) -> int:
    row = await db.get(AiModel, name)
    return row.input_credits_per_m if row is not None else settings.ai_offline_credits_per_million


async def create(me: ApiKeyPrincipal, body: EmbeddingsIn, db: AsyncSession | None = None) -> dict:
    """One metered embeddings call. Like a chat call it owns its transactions (docs/architecture.md): `db`, the
    request's session, is committed first, then the hold and the settlement are short transactions of their
    own, so no connection is held while the texts are embedded."""
    if db is not None:
        await commit(db)
    settings = runtime.current().settings
    name = model_id(settings)
    me.check_model(body.model)
    if body.model != name:
        raise OpenAIError(
            f"No embeddings model '{body.model}'; this server embeds with '{name}'.",
            status=404,
            code="model_not_found",
            type="invalid_request_error",
            param="model",
        )
    if body.dimensions is not None and body.dimensions != embeddings.DIMENSIONS:
        raise _bad(f"'{name}' makes {embeddings.DIMENSIONS}-dimension vectors.", "dimensions")
    texts = _texts(body)
    count = sum(tokens.count(t) for t in texts)
    await check_rate(me.key, me.user, count)
    request_id, user_id, key_id = new_id(), me.user.id, me.key.id
    async with runtime.current().db.session() as db:
        cost = -(-count * await _price(db, name, settings) // MILLION)
        await service.charge_key(db, key_id, cost)
        try:
            hold_id = await metering.reserve(db, user_id, request_id, cost, settings.ai_hold_minutes)
        except InsufficientFunds:
            available = await metering.available(db, user_id)
            raise InsufficientFunds(
                f"These embeddings cost {cost:,} credits and you have {available:,} available; top up your wallet."
            ) from None
        db.add(
            AiUsage(
                id=request_id,
                user_id=user_id,
                api_key_id=key_id,
                model=name,
                served_model=name,
                provider="embeddings",
                upstream_model=name,
                stream=False,
                status="pending",
                attempts=1,
                input_tokens=count,
                output_tokens=0,
                cached_tokens=0,
                reserved=cost,
                credits=0,
                uncharged=0,
                hold_id=hold_id,
            )
        )
    started = anyio.current_time()
    status, error, charge = "ok", None, cost
    try:
        vectors = await embeddings.embed(texts, settings)
    except AppError as exc:
        status, error, charge = "failed", exc.message, 0
        raise
    except BaseException:
        status, error, charge = "client_cancelled", "the client went away", 0
        raise
    finally:
        with anyio.CancelScope(shield=True):
            async with runtime.current().db.session() as db:
                done = await metering.settle(db, user_id, request_id, hold_id, cost, charge, name)
                await db.execute(
                    update(AiUsage)
                    .where(AiUsage.id == request_id)
                    .values(
                        status=status,
                        error=error,
                        credits=done.charged,
                        uncharged=done.uncharged,
                        latency_ms=int((anyio.current_time() - started) * 1000),
                        settled_at=utcnow(),
                    )
                )
                if charge < cost:
                    await service.release_key(db, key_id, cost - charge)
                await commit(db)
            await metering.after_commit(runtime.current().db.session, user_id, done)
    return {
        "object": "list",
        "model": name,
        "data": [
            {"object": "embedding", "index": i, "embedding": _encode(v, body.encoding_format)}
            for i, v in enumerate(vectors)
        ],
        "usage": {"prompt_tokens": count, "total_tokens": count},
        "smile": {"request_id": str(request_id), "credits": cost},
    }
