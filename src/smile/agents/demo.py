"""The demo's agents: eight agents from the templates, with a little knowledge, that have already posted,
answered a mention and chatted, all through the real pipeline (offline provider).

Call it from the demo seed with the session factory the other community steps use, once the people exist:

    await seed_agents(runtime.current().db.session, owner_ids)

`owner_ids` are people who run the agents (round robin); the last one also talks to them. Idempotent: an
agent whose handle exists is kept, posts use fixed slot keys, a conversation or mention already answered is
not started again. Owners get a small promotional grant (once, keyed) so the agents can pay for their calls.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from smile.agents import actions
from smile.agents import service as agents
from smile.agents.actions import Trigger
from smile.agents.knowledge import service as knowledge
from smile.agents.models import AgentAction
from smile.agents.schemas import AgentCreate
from smile.billing.ledger import service as ledger
from smile.billing.ledger.service import CREDITS, Leg
from smile.identity.models import User
from smile.social.messages import service as messages
from smile.social.messages.schemas import ConversationCreate, MessageCreate
from smile.social.posts import service as posts
from smile.social.posts.schemas import PostIn

GRANT = 500  # credits per owner, once

AGENTS = [
    (
        "sunny_tips",
        "influencer",
        "Sunny Tips",
        ["habits", "wellbeing"],
        "Tiny habits",
        "A tiny habit is a change small enough to do every day. Stacking a new habit on an old one makes it stick. "
        "Morning light helps people wake up and sleep better at night.",
    ),
    (
        "dr_soil",
        "expert",
        "Dr. Soil",
        ["gardening", "soil"],
        "Soil basics",
        "Healthy soil holds water like a sponge. Compost feeds the microbes that feed the plants. "
        "Tomatoes need at least six hours of sun a day. Water deeply and less often so roots grow down.",
    ),
    (
        "pun_master",
        "entertainer",
        "Pun Master",
        ["puns", "riddles"],
        "Riddles",
        "What has keys but cannot open locks? A piano. What gets wetter the more it dries? A towel. "
        "Why did the scarecrow win an award? Because he was outstanding in his field.",
    ),
    (
        "shop_helper",
        "customer_helper",
        "Shop Helper",
        ["orders", "returns"],
        "Store policy",
        "Orders ship within two business days. Returns are accepted within 30 days with the receipt. "
        "Support answers email from 9 to 17 on weekdays.",
    ),
    (
        "math_tutor",
        "tutor",
        "Math Tutor",
        ["fractions", "algebra"],
        "Fractions",
        "A fraction has a numerator on top and a denominator below. To add fractions, first give them the same "
        "denominator. One half equals two quarters.",
    ),
    (
        "chef_ai",
        "expert",
        "Chef AI",
        ["cooking", "pasta"],
        "Kitchen notes",
        "Spaghetti cooks in about nine minutes. Salt the pasta water generously. "
        "Resting meat for five minutes keeps it juicy.",
    ),
    (
        "star_gazer",
        "influencer",
        "Star Gazer",
        ["astronomy", "night sky"],
        "Sky guide",
        "Jupiter is the brightest planet after Venus. The Moon shows the same face to Earth. "
        "The best time to see meteors is after midnight, away from city lights.",
    ),
    (
        "code_coach",
        "tutor",
        "Code Coach",
        ["python", "programming"],
        "Python notes",
        "A Python list keeps items in order. A dictionary maps keys to values. "
        "Functions let you name a piece of code and reuse it.",
    ),
]
QUESTIONS = {
    "dr_soil": "How much sun do tomatoes need?",
    "shop_helper": "How long do returns take?",
    "math_tutor": "How do I add fractions?",
}
MENTION = ("chef_ai", "@chef_ai how long does spaghetti cook?")


async def _grant(db, owner_id: uuid.UUID) -> None:
    wallet = await ledger.wallet(db, owner_id)
    promo = await ledger.platform(db, ledger.PROMOTIONS, CREDITS)
    await ledger.post(
        db,
        "grant",
        [Leg(promo, -GRANT), Leg(wallet, GRANT)],
        key=f"demo-agents:{owner_id}",
        memo="Demo: credits for your AI agents",
    )


async def _agent(db, owner_id: uuid.UUID, spec) -> uuid.UUID:
    handle, template, name, topics, title, text = spec
    found = await db.scalar(select(User.id).where(User.username == handle))
    if found is not None:
        return found
    owner = await db.get(User, owner_id)
    agent, _ = await agents.create(
        db,
        owner,
        AgentCreate(
            handle=handle,
            template=template,
            display_name=name,
            topics=topics,
            autopost=True,
            posts_per_day=2,
            daily_budget=200,
            follow_back=True,
        ),
    )
    await knowledge.add_document(db, owner_id, agent.id, title=title, text=text)
    return agent.id


async def _answered(db, agent_id: uuid.UUID, kind: str) -> bool:
    return (
        await db.scalar(
            select(AgentAction.key).where(AgentAction.agent_id == agent_id, AgentAction.kind == kind).limit(1)
        )
        is not None
    )


async def seed_agents(db, owner_ids: list) -> None:
    """`db`: a session factory (each call an async context manager that commits), e.g. runtime's db.session."""
    owners = [uuid.UUID(str(o)) for o in owner_ids]
    if not owners:
        return
    ids: dict[str, uuid.UUID] = {}
    for i, spec in enumerate(AGENTS):
        async with db() as s:
            ids[spec[0]] = await _agent(s, owners[i % len(owners)], spec)
    for owner_id in set(owners):
        async with db() as s:
            await _grant(s, owner_id)
    for slot in range(2):  # two posts each, through the pipeline (fixed slots: a second run does nothing)
        for agent_id in ids.values():
            await actions.run(Trigger("post", agent_id, slot=f"demo:{slot}"), db_factory=db)
    person = owners[-1]
    for handle, question in QUESTIONS.items():  # a chat each, answered by the agent
        agent_id = ids[handle]
        if person == (await _owner(db, agent_id)) or await _answered_in(db, agent_id, "message"):
            continue
        async with db() as s:
            me = await s.get(User, person)
            conversation = await messages.start(s, me, ConversationCreate(member_usernames=[handle]))
            sent = await messages.send(s, me, conversation.id, MessageCreate(body=question))
        await actions.run(
            Trigger("message", agent_id, person, conversation_id=conversation.id, message_id=sent.id), db_factory=db
        )
    handle, body = MENTION
    if not await _answered_in(db, ids[handle], "mention"):
        async with db() as s:
            post = await posts.create(s, await s.get(User, person), PostIn(body=body))
        await actions.run(Trigger("mention", ids[handle], person, post_id=post.id), db_factory=db)


async def _owner(db, agent_id: uuid.UUID) -> uuid.UUID | None:
    async with db() as s:
        owner = await agents.owner_of(s, agent_id)
        return owner.id if owner else None


async def _answered_in(db, agent_id: uuid.UUID, kind: str) -> bool:
    async with db() as s:
        return await _answered(s, agent_id, kind)
