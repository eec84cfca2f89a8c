"""The action pipeline driven directly: idempotency, budget under concurrency, loop guards, prompt safety."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest

from smile.agents import actions
from smile.agents.actions import Trigger
from smile.billing.ledger import service as ledger
from smile.identity.models import User
from smile.kit.db import Database
from smile.social.messages import service as messages
from smile.social.messages.schemas import ConversationCreate, MessageCreate
from tests.agents.helpers import fund_user, make_agent, no_auto_triggers, seed_models  # noqa: F401


def _run(database_url, fn):
    async def main():
        database = Database(database_url, pool_size=20, max_overflow=40)
        try:
            return await fn(database)
        finally:
            await database.engine.dispose()

    return asyncio.run(main())


async def _send(database, sender_id, recipient: str, bodies: list[str]) -> list[Trigger]:
    """`sender` messages `recipient` (an agent); the triggers the agent would get."""
    async with database.session() as db:
        sender = await db.get(User, uuid.UUID(str(sender_id)))
        conversation = await messages.start(db, sender, ConversationCreate(member_usernames=[recipient]))
        agent_id = next(m.id for m in conversation.members if m.username == recipient)
        out = []
        for body in bodies:
            message = await messages.send(db, sender, conversation.id, MessageCreate(body=body))
            out.append(Trigger("message", agent_id, sender.id, conversation_id=conversation.id, message_id=message.id))
        return out


def _agent_messages(dsn, agent_id) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT body, generated_by FROM messages WHERE sender_id = %s ORDER BY id", (agent_id,)
        ).fetchall()


@pytest.mark.usefixtures("no_auto_triggers")
def test_a_retried_or_concurrent_trigger_publishes_once(signup, database_url, dsn, settings):
    owner, person = signup(), signup()
    agent = make_agent(owner)
    fund_user(database_url, owner.user["id"], 100)

    async def go(database):
        [trigger] = await _send(database, person.user["id"], agent["handle"], ["Hi there, who are you?"])
        first = await asyncio.gather(
            *[actions.run(trigger, db_factory=database.session, settings=settings) for _ in range(4)]
        )
        again = await actions.run(trigger, db_factory=database.session, settings=settings)
        return first, again

    first, again = _run(database_url, go)
    assert sorted(first).count("done") == 1 and again == "duplicate"
    assert len(_agent_messages(dsn, agent["id"])) == 1


@pytest.mark.usefixtures("no_auto_triggers")
def test_fifty_simultaneous_triggers_against_a_budget_for_five(signup, database_url, dsn, settings, mailbox):
    owner, person = signup(), signup()
    agent = make_agent(owner, daily_budget=5)  # the offline model: 1 credit per short call
    fund_user(database_url, owner.user["id"], 1000)

    async def go(database):
        triggers = await _send(database, person.user["id"], agent["handle"], [f"Question {i}?" for i in range(50)])
        results = await asyncio.gather(
            *[actions.run(t, db_factory=database.session, settings=settings) for t in triggers]
        )
        async with database.session() as db:
            wallet = await ledger.wallet_balance(db, uuid.UUID(owner.user["id"]))
            spent = await actions.spent(db, uuid.UUID(agent["id"]), __import__("datetime").date.today())
        return results, wallet, spent

    results, wallet, spent = _run(database_url, go)
    assert results.count("done") == 5, results
    assert set(results) <= {"done", "budget", "paused"}
    assert len(_agent_messages(dsn, agent["id"])) == 5
    assert spent == (5, 0) and wallet.balance == 1000 - 5 and wallet.held == 0
    with psycopg.connect(dsn) as conn:
        notes = conn.execute(
            "SELECT count(*) FROM notifications WHERE user_id = %s AND kind = 'agent_paused'", (owner.user["id"],)
        ).fetchone()[0]
    assert notes == 1
    body = owner.get(f"/api/v1/agents/{agent['id']}").json()
    assert body["paused_reason"] == "budget" and body["spent_today"] == 5


@pytest.mark.usefixtures("no_auto_triggers")
def test_an_empty_wallet_pauses_the_agent_and_never_overdraws(signup, database_url, dsn, settings):
    owner, person = signup(), signup()
    agent = make_agent(owner, daily_budget=1000)
    fund_user(database_url, owner.user["id"], 3)

    async def go(database):
        triggers = await _send(database, person.user["id"], agent["handle"], [f"Q{i}?" for i in range(10)])
        results = await asyncio.gather(
            *[actions.run(t, db_factory=database.session, settings=settings) for t in triggers]
        )
        async with database.session() as db:
            return results, await ledger.wallet_balance(db, uuid.UUID(owner.user["id"]))

    results, wallet = _run(database_url, go)
    assert results.count("done") == 3 and wallet.balance == 0 and wallet.held == 0
    assert "wallet" in results
    assert owner.get(f"/api/v1/agents/{agent['id']}").json()["paused_reason"] == "wallet"


@pytest.mark.usefixtures("no_auto_triggers")
def test_two_agents_in_a_loop_stop_at_the_depth_with_bounded_model_calls(
    signup, database_url, dsn, ai_settings, openai_stub
):
    owner = signup()
    seed_models(database_url, ai_settings)
    a = make_agent(owner, model="fast")
    b = make_agent(owner, model="fast")
    fund_user(database_url, owner.user["id"], 100_000)
    settings = ai_settings.model_copy(update={"agent_pair_cooldown_seconds": 0, "agent_max_depth": 3})

    async def go(database):
        [trigger] = await _send(database, a["id"], b["handle"], ["Hello B, let's chat forever?"])
        outcomes = []
        for _ in range(10):  # each reply triggers the other agent, until the guard says no
            outcome = await actions.run(trigger, db_factory=database.session, settings=settings)
            outcomes.append(outcome)
            if outcome != "done":
                break
            async with database.session() as db:
                me = await db.get(User, trigger.agent_id)
                page = await messages.list_messages(db, me.id, trigger.conversation_id, None, 1)
                last = page.items[0]
            other = uuid.UUID(a["id"]) if trigger.agent_id == uuid.UUID(b["id"]) else uuid.UUID(b["id"])
            trigger = Trigger(
                "message", other, trigger.agent_id, conversation_id=trigger.conversation_id, message_id=last.id
            )
        return outcomes

    outcomes = _run(database_url, go)
    assert outcomes == ["done", "done", "depth"]
    assert len(openai_stub.calls("stub-fast")) == 2  # one model call per reply, none once the guard stops it


@pytest.mark.usefixtures("no_auto_triggers")
def test_pair_cooldown_and_hourly_cap(signup, database_url, settings):
    owner, person = signup(), signup()
    agent = make_agent(owner)
    fund_user(database_url, owner.user["id"], 100)
    capped = settings.model_copy(update={"agent_hourly_actions": 2})

    async def go(database):
        triggers = await _send(database, person.user["id"], agent["handle"], ["A?", "B?", "C?"])
        return [await actions.run(t, db_factory=database.session, settings=capped) for t in triggers]

    assert _run(database_url, go) == ["done", "done", "hourly_cap"]

    other = make_agent(owner)

    async def pair(database):
        triggers = await _send(database, other["id"], agent["handle"], ["One?", "Two?"])
        return [await actions.run(t, db_factory=database.session, settings=settings) for t in triggers]

    assert _run(database_url, pair) == ["done", "cooldown"]


@pytest.mark.usefixtures("no_auto_triggers")
def test_never_replies_to_itself(signup, database_url, settings):
    owner = signup()
    agent = make_agent(owner)
    agent_id = uuid.UUID(agent["id"])
    trigger = Trigger("message", agent_id, agent_id, conversation_id=uuid.uuid4(), message_id=uuid.uuid4())

    async def go(database):
        return await actions.run(trigger, db_factory=database.session, settings=settings)

    assert _run(database_url, go) == "self"
