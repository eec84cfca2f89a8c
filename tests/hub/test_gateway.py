"""The /v1 gateway driven by the real `openai` SDK over HTTP: chat (streamed and not), models, errors."""

from __future__ import annotations

import sys
import uuid

import openai
import pytest

from smile.ai.catalog import Model
from smile.ai.types import Usage
from smile.billing.ledger import service as ledger
from smile.kit import runtime
from tests.ai.stubs import REPLY
from tests.ai_fixtures import fund

ASK = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello please"}]
FAST = Model("fast", "stub", "stub-fast", 10_000, 30_000, 5_000, 8192, True, ())


@pytest.fixture
def stub_models(ai_settings, monkeypatch):
    """The live server uses the stub providers and the test catalog (fast, backup, claude, cheap, offline)."""
    monkeypatch.setattr(runtime.current(), "settings", ai_settings)
    return ai_settings


@pytest.fixture
def account(signup, make_key, server):
    """A user with a funded wallet and an API key; returns (api, key, sdk client)."""

    def make(credits: int = 10_000, **key_fields):
        api = signup()
        if credits:
            server.call(fund(runtime.current().db, uuid.UUID(api.user["id"]), credits))
        key = make_key(api, **key_fields)
        sdk = openai.OpenAI(base_url=server.url + "/v1", api_key=key["secret"], max_retries=0, timeout=30)
        return api, key, sdk

    return make


def balance(server, user_id) -> ledger.Balance:
    async def go():
        async with runtime.current().db.session() as db:
            return await ledger.balance(db, await ledger.wallet(db, uuid.UUID(str(user_id))))

    return server.call(go())


def usage_rows(db, user_id):
    return db.execute(
        "SELECT status, model, api_key_id, stream, input_tokens, output_tokens, credits "
        "FROM ai_usage WHERE user_id = %s ORDER BY id",
        (user_id,),
    ).fetchall()


def key_spent(db, key_id) -> int:
    return db.execute("SELECT spent_credits FROM hub_api_keys WHERE id = %s", (key_id,)).fetchone()[0]


def test_non_streamed_chat_offline_is_metered_from_the_wallet_and_the_key(account, server, db):
    api, key, sdk = account()
    reply = sdk.chat.completions.create(model="offline", messages=ASK, max_tokens=40)
    assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl-")
    assert reply.model == "offline" and reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content and reply.choices[0].finish_reason in ("stop", "length")
    credits = reply.model_extra["smile"]["credits"]
    usage = reply.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens and usage.completion_tokens > 0
    assert credits == -(-(usage.prompt_tokens + usage.completion_tokens) * 1000 // 1_000_000) > 0
    after = balance(server, api.user["id"])
    assert (after.balance, after.held) == (10_000 - credits, 0)
    [row] = usage_rows(db, api.user["id"])
    assert row == ("ok", "offline", uuid.UUID(key["id"]), False, usage.prompt_tokens, usage.completion_tokens, credits)
    assert key_spent(db, key["id"]) == credits


def test_stub_model_streamed_costs_the_same_as_not_streamed(account, stub_models, server, db, openai_stub):
    api, key, sdk = account()
    plain = sdk.chat.completions.create(model="fast", messages=ASK, max_tokens=50)
    chunks = list(
        sdk.chat.completions.create(
            model="fast", messages=ASK, max_tokens=50, stream=True, stream_options={"include_usage": True}
        )
    )
    words = REPLY.split()
    assert plain.choices[0].message.content == " ".join(words)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == " ".join(words)
    assert len({c.id for c in chunks}) == 1 and chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    last = chunks[-1]
    assert last.choices == [] and last.usage == plain.usage
    prompt = 5 + len(["Be", "brief.", "Say", "hello", "please"])
    expected = FAST.cost(Usage(prompt, len(words)))
    assert plain.model_extra["smile"]["credits"] == last.model_extra["smile"]["credits"] == expected
    assert balance(server, api.user["id"]).balance == 10_000 - 2 * expected
    assert [(r[0], r[3], r[6]) for r in usage_rows(db, api.user["id"])] == [
        ("ok", False, expected),
        ("ok", True, expected),
    ]
    assert key_spent(db, key["id"]) == 2 * expected


def test_streamed_offline_chat_without_usage_chunk_ends_with_done(account, server, db):
    api, key, sdk = account()
    plain = sdk.chat.completions.create(model="offline", messages=ASK, max_tokens=30)
    with sdk.chat.completions.create(model="offline", messages=ASK, max_tokens=30, stream=True) as stream:
        chunks = list(stream)
    assert all(c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == plain.choices[0].message.content
    raw = api.post(
        "/v1/chat/completions",
        json={"model": "offline", "messages": ASK, "max_tokens": 5, "stream": True},
        headers={"Authorization": f"Bearer {key['secret']}"},
    )
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/event-stream")
    assert raw.text.rstrip().endswith("data: [DONE]")
    rows = usage_rows(db, api.user["id"])
    assert [r[0] for r in rows] == ["ok", "ok", "ok"] and rows[0][6] == rows[1][6]
    assert balance(server, api.user["id"]).balance == 10_000 - sum(r[6] for r in rows)


def test_models_lists_what_the_key_may_use(account, stub_models):
    _, _, every = account()
    ids = [m.id for m in every.models.list()]
    assert {"fast", "backup", "claude", "cheap", "offline", "all-MiniLM-L6-v2"} <= set(ids)
    _, _, narrow = account(allowed_models=["cheap", "offline"])
    assert [m.id for m in narrow.models.list()] == ["cheap", "offline"]
    assert narrow.models.retrieve("cheap").owned_by == "stub"
    with pytest.raises(openai.NotFoundError):
        narrow.models.retrieve("fast")


def test_models_lists_the_embeddings_model_only_when_it_is_installed(account, monkeypatch):
    _, _, sdk = account()
    assert "all-MiniLM-L6-v2" in [m.id for m in sdk.models.list()]  # the test extras install it
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as on a server without '.[embeddings]'
    assert "all-MiniLM-L6-v2" not in [m.id for m in sdk.models.list()]
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("all-MiniLM-L6-v2")


def test_errors_have_openai_shape(account, server):
    _, _, sdk = account(scopes=["models"])
    bad = openai.OpenAI(base_url=server.url + "/v1", api_key="sk-smile-" + "x" * 43, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        bad.chat.completions.create(model="offline", messages=ASK)
    assert caught.value.body["code"] == "invalid_api_key"
    with pytest.raises(openai.PermissionDeniedError) as caught:
        sdk.chat.completions.create(model="offline", messages=ASK)
    assert caught.value.body["code"] == "missing_scope"
    _, _, sdk = account(allowed_models=["offline"])
    with pytest.raises(openai.PermissionDeniedError) as caught:
        sdk.chat.completions.create(model="fast", messages=ASK)
    assert (caught.value.body["code"], caught.value.body["param"]) == ("model_not_allowed", "model")
    _, _, sdk = account()
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.chat.completions.create(model="no-such-model", messages=ASK)
    assert caught.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="offline", messages=[])
    assert caught.value.body["param"] == "messages"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="offline", messages=ASK, max_tokens=0)
    assert caught.value.body["param"] == "max_tokens"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(
            model="offline",
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}],
        )
    assert caught.value.body["param"] == "messages[0].content"


def test_empty_wallet_is_402_streamed_or_not(account, db):
    api, _, sdk = account(credits=0)
    for stream in (False, True):
        with pytest.raises(openai.APIStatusError) as caught:
            sdk.chat.completions.create(model="offline", messages=ASK, max_tokens=20, stream=stream)
        assert caught.value.status_code == 402
        assert caught.value.body["type"] == "insufficient_quota" and "top up" in caught.value.body["message"]
    assert [r[0] for r in usage_rows(db, api.user["id"])] == ["insufficient_credits", "insufficient_credits"]


def test_rate_limit_is_429_with_retry_after(account):
    _, _, sdk = account(rpm_limit=1)
    sdk.chat.completions.create(model="offline", messages=ASK, max_tokens=5)
    with pytest.raises(openai.RateLimitError) as caught:
        sdk.chat.completions.create(model="offline", messages=ASK, max_tokens=5)
    assert int(caught.value.response.headers["Retry-After"]) >= 1
    assert caught.value.body["code"] == "rate_limit_exceeded"


def test_key_credit_limit_is_enforced_and_spent_exactly(account, stub_models, server, db):
    api, key, sdk = account(credit_limit=3)
    first = sdk.chat.completions.create(model="fast", messages=ASK)  # no max_tokens: bounded by the key's 3
    spent = first.model_extra["smile"]["credits"]
    assert 0 < spent <= 3 and key_spent(db, key["id"]) == spent
    refused = 0
    for _ in range(5):
        try:
            sdk.chat.completions.create(model="fast", messages=ASK, max_tokens=50)
        except openai.APIStatusError as exc:
            assert exc.status_code == 402 and exc.body["code"] == "key_credit_limit_reached"
            refused += 1
    total = key_spent(db, key["id"])
    assert refused >= 1 and total <= 3
    assert balance(server, api.user["id"]).balance == 10_000 - total
    assert sum(r[6] for r in usage_rows(db, api.user["id"])) == total


def test_a_call_that_takes_the_wallet_under_the_low_balance_mark_sends_one_notice(account, server, mailbox, db):
    from smile.billing.credits import service as credits

    api, key, sdk = account(credits=100)  # exactly the default mark: armed, not yet low
    user_id = uuid.UUID(api.user["id"])

    async def arm():
        async with runtime.current().db.session() as db:
            await credits.open_wallet(db, user_id)  # no starting grant in the tests
            await credits.topped_up(db, user_id)

    server.call(arm())
    reply = sdk.chat.completions.create(model="offline", messages=ASK, max_tokens=40)
    charged = reply.model_extra["smile"]["credits"]
    assert charged > 0
    notice = mailbox.wait(api.email, "running low")  # sent after the settlement committed
    assert f"You have {100 - charged:,} credits left" in notice["body"]
    sdk.chat.completions.create(model="offline", messages=ASK, max_tokens=40)  # still low: no second notice
    assert (
        db.execute(
            "SELECT count(*) FROM emails WHERE \"to\" = %s AND subject LIKE '%%running low%%'", (api.email,)
        ).fetchone()[0]
        == 1
    )
