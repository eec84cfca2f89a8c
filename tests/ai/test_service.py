"""complete() and stream() against the OpenAI-compatible stub and the offline provider: metering, usage rows."""

from __future__ import annotations

import pytest

from smile.ai import service, tokens
from smile.ai.types import ChatRequest, Message
from smile.billing.ledger import service as ledger
from smile.billing.ledger.service import InsufficientFunds
from smile.billing.ledger.verify import verify
from tests.ai.stubs import REPLY
from tests.ai_fixtures import fund

ASK = [Message("system", "Be brief."), Message("user", "Say hello please")]


def usage_rows(db, user_id):
    return db.execute(
        "SELECT status, model, served_model, provider, attempts, input_tokens, output_tokens, "
        "cached_tokens, credits, reserved, stream, attempt_log FROM ai_usage WHERE user_id = %s "
        "ORDER BY id",
        (user_id,),
    ).fetchall()


async def collect(deltas):
    return [d async for d in deltas]


def test_complete_charges_exact_cost_from_provider_usage(ai_settings, make_user, run, db):
    user = make_user()

    async def go(database):
        await fund(database, user, 10_000)
        result = await service.complete(
            database.session, user, ChatRequest("fast", ASK, max_tokens=50), settings=ai_settings
        )
        async with database.session() as s:
            return result, await ledger.balance(s, await ledger.wallet(s, user)), await verify(s)

    result, balance, problems = run(go)
    words = REPLY.split()
    assert result.text == " ".join(words) and result.model == "fast" and result.provider == "stub"
    prompt = 5 + len(["Be", "brief.", "Say", "hello", "please"])
    assert (result.usage.input_tokens, result.usage.output_tokens) == (prompt, len(words))
    expected = -(-(prompt * 10_000 + len(words) * 30_000) // 1_000_000)
    assert result.credits == expected and balance.balance == 10_000 - expected and balance.held == 0
    assert problems == []
    row = usage_rows(db, user)[0]
    assert row[:11] == ("ok", "fast", "fast", "stub", 1, prompt, len(words), 0, expected, row[9], False)
    assert row[9] >= expected


def test_streamed_cost_equals_non_streamed_cost_and_usage_is_requested(ai_settings, make_user, run, db, openai_stub):
    user = make_user()
    request = ChatRequest("fast", ASK + [Message("user", "use the cache")], max_tokens=40)

    async def go(database):
        await fund(database, user, 10_000)
        plain = await service.complete(database.session, user, request, settings=ai_settings)
        deltas = await collect(service.stream(database.session, user, request, settings=ai_settings))
        return plain, deltas

    plain, deltas = run(go)
    final = deltas[-1]
    assert "".join(d.text for d in deltas) == plain.text
    assert final.usage == plain.usage and plain.usage.cached_tokens == 3
    assert final.credits == plain.credits > 0 and final.finish_reason == "stop"
    streamed = [r for r in openai_stub.calls("stub-fast") if r.get("stream")]
    assert streamed and all(r["stream_options"] == {"include_usage": True} for r in streamed)
    assert [r[0] for r in usage_rows(db, user)] == ["ok", "ok"]


def test_offline_provider_is_grounded_marked_and_metered_the_same_both_ways(ai_settings, make_user, run, db):
    user = make_user()
    request = ChatRequest(
        "offline",
        [Message("user", "When does the bakery open?")],
        max_tokens=60,
        knowledge=["The bakery opens at 7 am on weekdays. Parking is free."],
    )

    async def go(database):
        await fund(database, user, 1_000)
        plain = await service.complete(database.session, user, request, settings=ai_settings)
        deltas = await collect(service.stream(database.session, user, request, settings=ai_settings))
        return plain, deltas

    plain, deltas = run(go)
    assert plain.text.startswith("[offline]") and "opens at 7 am" in plain.text and plain.offline
    assert "".join(d.text for d in deltas) == plain.text
    assert deltas[-1].usage == plain.usage and deltas[-1].credits == plain.credits > 0


def test_no_max_tokens_injects_one_the_balance_covers(ai_settings, make_user, run, openai_stub):
    user = make_user()

    async def go(database):
        await fund(database, user, 1)  # 1 credit: 1M credit-millionths; prompt ~ 9 tokens at 10k/M, out 30k/M
        return await service.complete(database.session, user, ChatRequest("fast", ASK), settings=ai_settings)

    result = run(go)
    sent = openai_stub.calls("stub-fast")[-1]["max_tokens"]
    prompt = tokens.upper_bound(ASK)  # the chain's dearest model (backup: 20k in, 40k out per 1M) bounds it
    assert prompt * 20_000 + sent * 40_000 <= 1_000_000 < prompt * 20_000 + (sent + 1) * 40_000
    assert result.credits == 1


def test_refused_reservation_writes_a_usage_row_and_answers_402(ai_settings, make_user, run, db):
    user = make_user()

    async def go(database):
        await fund(database, user, 1)
        with pytest.raises(InsufficientFunds):
            await service.complete(
                database.session, user, ChatRequest("fast", ASK, max_tokens=4000), settings=ai_settings
            )

    run(go)
    assert [(r[0], r[8]) for r in usage_rows(db, user)] == [("insufficient_credits", 0)]
