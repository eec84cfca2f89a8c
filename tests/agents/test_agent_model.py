"""An agent as the model `agent:<handle>` on /v1/chat/completions (the real `openai` SDK) and the MCP tool."""

from __future__ import annotations

import uuid

import openai
import pytest

from smile.agents import actions
from smile.billing.ledger import service as ledger
from smile.kit import runtime
from tests.agents.helpers import fund_user, make_agent, no_auto_triggers, seed_models  # noqa: F401
from tests.agents.test_pipeline import _run, _send
from tests.ai.stubs import REPLY
from tests.hub.test_mcp import call, data, error

ASK = [{"role": "user", "content": "When is the lamp lit?"}]


@pytest.fixture
def live(ai_settings, monkeypatch, database_url):
    """The live server uses the stub providers; the stub models are in the catalog (an agent names one)."""
    monkeypatch.setattr(runtime.current(), "settings", ai_settings)
    seed_models(database_url, ai_settings)
    return ai_settings


@pytest.fixture
def lighthouse(live, signup, database_url):
    """An owner (funded) and their public agent on the stub model, with one knowledge document."""
    owner = signup()
    fund_user(database_url, owner.user["id"], 10_000)
    agent = make_agent(owner, model="fast", persona="A lighthouse keeper who loves storms.")
    r = owner.post(
        f"/api/v1/agents/{agent['id']}/knowledge",
        json={"title": "Lighthouse manual", "text": "The lamp of the north lighthouse is lit at dusk."},
    )
    assert r.status_code == 201, r.text
    return owner, agent


def client(server, api, scopes=("chat",)) -> tuple[dict, openai.OpenAI]:
    r = api.post("/api/v1/hub/keys", json={"name": "agent key", "scopes": list(scopes)})
    assert r.status_code == 201, r.text
    key = r.json()
    return key, openai.OpenAI(base_url=server.url + "/v1", api_key=key["secret"], max_retries=0, timeout=30)


def caller(signup, database_url, credits: int = 10_000):
    api = signup()
    fund_user(database_url, api.user["id"], credits)
    return api


def balance(server, user_id) -> int:
    async def go():
        async with runtime.current().db.session() as db:
            return (await ledger.balance(db, await ledger.wallet(db, uuid.UUID(str(user_id))))).balance

    return server.call(go())


def test_non_streamed_answer_is_the_agents_and_charged_to_the_caller(
    lighthouse, signup, server, db, database_url, openai_stub
):
    owner, agent = lighthouse
    person = caller(signup, database_url)
    key, sdk = client(server, person)
    reply = sdk.chat.completions.create(model=f"agent:{agent['handle']}", messages=ASK)
    assert reply.model == f"agent:{agent['handle']}"
    assert reply.choices[0].message.content == REPLY
    credits = reply.model_extra["smile"]["credits"]
    assert credits > 0
    assert balance(server, person.user["id"]) == 10_000 - credits  # the caller pays ...
    assert balance(server, owner.user["id"]) == 10_000  # ... not the agent's owner
    rows = db.execute(
        "SELECT user_id, api_key_id, model, credits FROM ai_usage WHERE id = %s",
        (reply.model_extra["smile"]["request_id"],),
    ).fetchall()
    assert rows == [(uuid.UUID(person.user["id"]), uuid.UUID(key["id"]), "fast", credits)]
    [sent] = openai_stub.calls("stub-fast")
    system = sent["messages"][0]["content"]
    assert sent["messages"][0]["role"] == "system"
    assert "A lighthouse keeper who loves storms." in system
    assert "Lighthouse manual: The lamp of the north lighthouse is lit at dusk." in system
    asked = sent["messages"][1]["content"]  # the caller's words arrive as quoted data, not instructions
    assert asked.startswith(f'<untrusted from="@{person.user["username"]}"') and "When is the lamp lit?" in asked


def test_streamed_answer(lighthouse, signup, server, database_url):
    _, agent = lighthouse
    person = caller(signup, database_url)
    _, sdk = client(server, person)
    chunks = list(
        sdk.chat.completions.create(
            model=f"agent:{agent['handle']}", messages=ASK, stream=True, stream_options={"include_usage": True}
        )
    )
    assert {c.model for c in chunks} == {f"agent:{agent['handle']}"}
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY
    credits = chunks[-1].model_extra["smile"]["credits"]
    assert credits > 0 and balance(server, person.user["id"]) == 10_000 - credits


def test_a_private_agent_answers_its_owner_only(live, signup, server, database_url):
    owner = caller(signup, database_url)
    agent = make_agent(owner, model="fast", visibility="private")
    _, mine = client(server, owner)
    assert mine.chat.completions.create(model=f"agent:{agent['handle']}", messages=ASK).choices[0].message.content
    _, theirs = client(server, caller(signup, database_url))
    for model in (f"agent:{agent['handle']}", "agent:nosuchagent"):
        with pytest.raises(openai.NotFoundError) as caught:
            theirs.chat.completions.create(model=model, messages=ASK)
        assert caught.value.code == "model_not_found"


@pytest.mark.usefixtures("no_auto_triggers")
def test_the_prompt_holds_the_callers_memories_only(lighthouse, signup, server, database_url, live, openai_stub):
    _, agent = lighthouse
    alice, bob = caller(signup, database_url), caller(signup, database_url)
    for person, said in ((alice, "My name is Alice. When is the lamp lit?"), (bob, "My name is Bob. Hello.")):

        async def go(database, person=person, said=said):
            [trigger] = await _send(database, person.user["id"], agent["handle"], [said])
            return await actions.run(trigger, db_factory=database.session, settings=live)

        assert _run(database_url, go) == "done"
    _, sdk = client(server, bob)
    sdk.chat.completions.create(model=f"agent:{agent['handle']}", messages=ASK)
    system = openai_stub.calls("stub-fast")[-1]["messages"][0]["content"]
    assert "Bob" in system and "Alice" not in system  # Bob's memories, never Alice's


def test_the_mcp_tool_asks_the_agent(lighthouse, signup, server, database_url):
    _, agent = lighthouse
    person = caller(signup, database_url)
    key, _ = client(server, person, scopes=("mcp",))
    answered, missing = call(
        server,
        key["secret"],
        ("ask_agent", {"handle": agent["handle"], "message": "When is the lamp lit?"}),
        ("ask_agent", {"handle": "nosuchagent", "message": "Hello?"}),
    )
    out = data(answered)
    assert out["text"] == REPLY and out["model"] == f"agent:{agent['handle']}" and out["credits"] > 0
    assert balance(server, person.user["id"]) == 10_000 - out["credits"]
    assert "[model_not_found]" in error(missing)
