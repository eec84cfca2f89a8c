"""Fallback and retries, cut-off and abandoned streams, concurrency against one wallet, the Anthropic stub."""

from __future__ import annotations

import asyncio

import pytest

from smile.ai import service, tokens
from smile.ai.types import ChatRequest, Message
from smile.billing.ledger import service as ledger
from smile.billing.ledger.service import InsufficientFunds
from smile.billing.ledger.verify import verify
from tests.ai.stubs import REPLY, prompt_tokens
from tests.ai_fixtures import fund
from tests.billing.support import wait_for

ASK = [Message("system", "Be brief."), Message("user", "Say hello please")]


def row(db, user_id):
    return db.execute(
        "SELECT status, served_model, attempts, attempt_log, input_tokens, output_tokens, credits "
        "FROM ai_usage WHERE user_id = %s ORDER BY id DESC LIMIT 1",
        (user_id,),
    ).fetchone()


def cost(prompt: int, output: int, rate_in: int, rate_out: int) -> int:
    return -(-(prompt * rate_in + output * rate_out) // 1_000_000)


@pytest.mark.parametrize("streamed", [False, True])
def test_a_500_before_the_first_byte_retries_then_falls_back(ai_settings, make_user, run, db, openai_stub, streamed):
    user = make_user()
    openai_stub.plan("stub-fast", "500", "429")  # both tries of `fast` fail; `backup` answers
    request = ChatRequest("fast", ASK, max_tokens=30)

    async def go(database):
        await fund(database, user, 10_000)
        if streamed:
            return "".join(
                [d.text async for d in service.stream(database.session, user, request, settings=ai_settings)]
            )
        return (await service.complete(database.session, user, request, settings=ai_settings)).text

    assert run(go) == REPLY
    status, served, attempts, log, prompt, output, credits = row(db, user)
    assert (status, served, attempts) == ("ok", "backup", 3)
    assert [(a["model"], a["ok"], a["status"]) for a in log] == [
        ("fast", False, 500),
        ("fast", False, 429),
        ("backup", True, None),
    ]
    assert credits == cost(prompt, output, 20_000, 40_000)


def test_a_stall_before_the_first_byte_times_out_and_falls_back(ai_settings, make_user, run, db, openai_stub):
    user = make_user()
    openai_stub.plan("stub-fast", "stall", "stall")

    async def go(database):
        await fund(database, user, 10_000)
        return [
            d
            async for d in service.stream(
                database.session, user, ChatRequest("fast", ASK, max_tokens=30), settings=ai_settings
            )
        ]

    assert run(go)[-1].model == "backup"
    assert row(db, user)[:3] == ("ok", "backup", 3)


def test_a_stream_cut_off_after_output_does_not_fall_back_and_charges_what_was_delivered(
    ai_settings, make_user, run, db, openai_stub
):
    user = make_user()
    openai_stub.plan("stub-fast", "cut:3")
    got = []

    async def go(database):
        wallet = await fund(database, user, 10_000)
        with pytest.raises(service.StreamInterrupted):
            async for delta in service.stream(
                database.session, user, ChatRequest("fast", ASK, max_tokens=30), settings=ai_settings
            ):
                got.append(delta.text)
        async with database.session() as s:
            return await ledger.balance(s, wallet), await verify(s)

    balance, problems = run(go)
    assert len(got) == 3 and openai_stub.calls("stub-backup") == []
    status, served, attempts, _, prompt, output, credits = row(db, user)
    assert (status, served, attempts) == ("upstream_error", "fast", 1)
    assert prompt == tokens.count_messages(ASK) and output == tokens.count("".join(got)) == 3
    assert credits == cost(prompt, 3, 10_000, 30_000) and balance.balance == 10_000 - credits
    assert balance.held == 0 and problems == []


def test_a_consumer_that_stops_early_cancels_upstream_and_pays_prompt_plus_delivered(
    ai_settings, make_user, run, db, openai_stub
):
    user = make_user()
    got = []

    async def go(database):
        wallet = await fund(database, user, 10_000)
        deltas = service.stream(database.session, user, ChatRequest("fast", ASK, max_tokens=30), settings=ai_settings)
        async for delta in deltas:
            got.append(delta.text)
            if len(got) == 4:
                break
        await deltas.aclose()
        async with database.session() as s:
            return await ledger.balance(s, wallet)

    balance = run(go)
    status, _, _, _, prompt, output, credits = row(db, user)
    assert status == "client_cancelled" and output == tokens.count("".join(got)) == 4
    assert credits == cost(prompt, 4, 10_000, 30_000) and balance.balance == 10_000 - credits and balance.held == 0
    wait_for(lambda: openai_stub.closed_early == 1, message="the stub saw the upstream request cancelled")


def test_hundred_concurrent_requests_from_a_wallet_that_affords_ten(ai_settings, make_user, run, db):
    user = make_user()
    request = ChatRequest("cheap", ASK, max_tokens=900)  # worst case < 1 credit → reserves 1, costs 1

    async def go(database):
        wallet = await fund(database, user, 10)

        async def one(stream: bool):
            try:
                if stream:
                    return [d async for d in service.stream(database.session, user, request, settings=ai_settings)][
                        -1
                    ].credits
                return (await service.complete(database.session, user, request, settings=ai_settings)).credits
            except InsufficientFunds:
                return None

        results = await asyncio.gather(*(one(i % 2 == 0) for i in range(100)))
        async with database.session() as s:
            return results, await ledger.balance(s, wallet), await verify(s)

    results, balance, problems = run(go)
    paid = [r for r in results if r is not None]
    assert paid == [1] * 10 and results.count(None) == 90
    assert (balance.balance, balance.held) == (0, 0) and problems == []
    counts = dict(
        db.execute("SELECT status, count(*) FROM ai_usage WHERE user_id = %s GROUP BY status", (user,)).fetchall()
    )
    assert counts == {"ok": 10, "insufficient_credits": 90}
    assert db.execute("SELECT sum(credits) FROM ai_usage WHERE user_id = %s", (user,)).fetchone()[0] == 10


def test_anthropic_usage_is_normalized_and_streamed_equals_non_streamed(
    ai_settings, make_user, run, db, anthropic_stub
):
    user = make_user()
    request = ChatRequest("claude", ASK + [Message("user", "cache this")], max_tokens=50)

    async def go(database):
        await fund(database, user, 10_000)
        plain = await service.complete(database.session, user, request, settings=ai_settings)
        deltas = [d async for d in service.stream(database.session, user, request, settings=ai_settings)]
        return plain, deltas

    plain, deltas = run(go)
    prompt = prompt_tokens([{"content": "Say hello please"}, {"content": "cache this"}], "Be brief.")
    assert plain.text == REPLY and "".join(d.text for d in deltas) == REPLY
    assert (plain.usage.input_tokens, plain.usage.output_tokens, plain.usage.cached_tokens) == (
        prompt,
        len(REPLY.split()),
        3,
    )
    assert deltas[-1].usage == plain.usage and deltas[-1].credits == plain.credits
    exact = -(-((prompt - 3) * 15_000 + 3 * 1_500 + len(REPLY.split()) * 75_000) // 1_000_000)
    assert plain.credits == exact
    assert anthropic_stub.calls("claude-stub")[0]["system"] == "Be brief."


def test_anthropic_cut_off_charges_its_reported_input_and_delivered_output(
    ai_settings, make_user, run, db, anthropic_stub
):
    user = make_user()
    anthropic_stub.plan("claude-stub", "cut:2")

    async def go(database):
        await fund(database, user, 10_000)
        with pytest.raises(service.StreamInterrupted):
            async for _ in service.stream(
                database.session, user, ChatRequest("claude", ASK, max_tokens=50), settings=ai_settings
            ):
                pass

    run(go)
    status, _, _, _, prompt, output, credits = row(db, user)
    expected_prompt = prompt_tokens([{"content": "Say hello please"}], "Be brief.")
    assert (status, prompt, output) == ("upstream_error", expected_prompt, 2)
    assert credits == cost(expected_prompt, 2, 15_000, 75_000)
