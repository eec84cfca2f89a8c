"""Long-term memories: extracted by rules, deduplicated, recalled by relevance and recency, and never
about anyone but the person in the conversation; the owner and the person see, edit and delete them."""

from __future__ import annotations

import uuid

import pytest

from smile.agents.memory import service
from smile.identity.models import User
from smile.identity.profile import gdpr

ALICE_SAYS = [
    "Hi, my name is Alice and I live in Lisbon.",
    "I work as a nurse. I love jazz music.",
    "I'm allergic to peanuts.",
]
BOB_SAYS = [
    "My name is Bob and I live in Porto.",
    "I work as a firefighter. I love jazz music too.",
    "I'm allergic to shellfish.",
]


@pytest.fixture
def cast(signup, make_agent):
    owner, alice, bob = signup(), signup(), signup()
    agent = make_agent(owner.user["id"])
    return owner, alice, bob, agent


def ids(api) -> uuid.UUID:
    return uuid.UUID(api.user["id"])


def tell(in_app, agent, person, texts):
    async def go(db):
        out = []
        for text in texts:
            out += await service.remember_exchange(db, agent, person, text, "Nice to meet you!")
        return out

    return in_app(go)


def test_rules_extract_dedupe_and_replace(cast, in_app):
    _, alice, _, agent = cast
    made = tell(in_app, agent, ids(alice), ALICE_SAYS)
    assert [m.text for m in made] == [
        "Their name is Alice.",
        "They live in Lisbon.",
        "They work as a nurse.",
        "They like jazz music.",
        "They are allergic to peanuts.",
    ]
    assert tell(in_app, agent, ids(alice), ["I love jazz music!", "What do you like?"]) == []  # known; a question
    moved = tell(in_app, agent, ids(alice), ["Actually I live in Madrid now.", "I hate jazz music these days"])
    assert [m.text for m in moved] == ["They live in Madrid.", "They dislike jazz music."]
    texts = {m.text for m in in_app(lambda db: service.recall(db, agent, ids(alice), "", k=50))}
    assert "They live in Lisbon." not in texts and "They live in Madrid." in texts
    assert tell(in_app, agent, agent, ["My name is Agent"]) == []  # an agent keeps no memories about itself


def test_a_memory_about_one_person_is_never_recalled_for_another(cast, in_app):
    _, alice, bob, agent = cast
    tell(in_app, agent, ids(alice), ALICE_SAYS)
    tell(in_app, agent, ids(bob), BOB_SAYS)
    bobs = {"Bob", "Porto", "firefighter", "shellfish"}
    for query in [
        "What is Bob's name?",
        "Who lives in Porto?",
        "firefighter",
        "allergic to shellfish",
        "Bob Porto firefighter shellfish",
        "jazz music",
        "what do you remember about everyone?",
        "",
    ]:
        recalled = in_app(lambda db, q=query: service.recall(db, agent, ids(alice), q, k=50))
        assert recalled, query
        assert not any(word in m.text for m in recalled for word in bobs), (query, [m.text for m in recalled])
    # and by relevance: the fact asked about comes first
    [top, *_] = in_app(lambda db: service.recall(db, agent, ids(bob), "what are you allergic to?", k=3))
    assert top.text == "They are allergic to shellfish."
    [top, *_] = in_app(lambda db: service.recall(db, agent, ids(alice), "where do I live?", k=3))
    assert top.text == "They live in Lisbon."
    # another agent of the same owner knows nothing about Alice
    other = uuid.uuid4()
    assert in_app(lambda db: service.recall(db, other, ids(alice), "name", k=5)) == []


def test_owner_and_person_see_edit_and_delete(cast, in_app, signup):
    owner, alice, bob, agent = cast
    tell(in_app, agent, ids(alice), ALICE_SAYS)
    tell(in_app, agent, ids(bob), BOB_SAYS)
    everything = owner.get(f"/api/v1/agents/{agent}/memories", params={"limit": 100}).json()["items"]
    assert len(everything) == 10
    only_bob = owner.get(f"/api/v1/agents/{agent}/memories", params={"person_id": str(ids(bob))}).json()["items"]
    assert {m["person_id"] for m in only_bob} == {str(ids(bob))} and len(only_bob) == 5

    mine = alice.get("/api/v1/me/agent-memories").json()["items"]
    assert len(mine) == 5 and {m["person_id"] for m in mine} == {str(ids(alice))}
    bobs_memory = only_bob[0]["id"]
    # Alice cannot see, edit or delete what the agent remembers about Bob; a stranger cannot manage the agent
    assert alice.patch(f"/api/v1/me/agent-memories/{bobs_memory}", json={"text": "x"}).status_code == 404
    assert alice.delete(f"/api/v1/me/agent-memories/{bobs_memory}").status_code == 404
    stranger = signup()
    assert stranger.get(f"/api/v1/agents/{agent}/memories").status_code == 404
    assert stranger.delete(f"/api/v1/agents/{agent}/memories/{bobs_memory}").status_code == 404
    assert alice.get(f"/api/v1/agents/{agent}/memories").status_code == 404

    name = next(m for m in mine if m["text"].startswith("Their name"))
    r = alice.patch(f"/api/v1/me/agent-memories/{name['id']}", json={"text": "Their name is Ali."})
    assert r.status_code == 200 and r.json()["text"] == "Their name is Ali." and r.json()["source"] == "person"
    assert alice.patch(f"/api/v1/me/agent-memories/{name['id']}", json={"text": ""}).status_code == 422
    r = owner.patch(f"/api/v1/agents/{agent}/memories/{bobs_memory}", json={"text": "They prefer Bobby."})
    assert r.status_code == 200 and r.json()["source"] == "owner"
    assert owner.delete(f"/api/v1/agents/{agent}/memories/{bobs_memory}").status_code == 204
    assert owner.delete(f"/api/v1/agents/{agent}/memories/{bobs_memory}").status_code == 404

    r = alice.delete("/api/v1/me/agent-memories")  # forget me
    assert r.status_code == 200 and r.json() == {"deleted": 5}
    assert alice.get("/api/v1/me/agent-memories").json()["items"] == []
    assert in_app(lambda db: service.recall(db, agent, ids(alice), "name", k=5)) == []
    assert len(bob.get("/api/v1/me/agent-memories").json()["items"]) == 4


def test_forget_person_for_one_agent_or_all(cast, in_app, make_agent):
    owner, alice, _, agent = cast
    second = make_agent(owner.user["id"])
    tell(in_app, agent, ids(alice), ALICE_SAYS)
    tell(in_app, second, ids(alice), ALICE_SAYS[:1])
    assert in_app(lambda db: service.forget_person(db, second, ids(alice))) == 2
    assert in_app(lambda db: service.forget_person(db, None, ids(alice))) == 5
    assert in_app(lambda db: service.forget_person(db, None, ids(alice))) == 0


def test_gdpr_export_and_erase(cast, in_app):
    owner, alice, bob, agent = cast
    tell(in_app, agent, ids(alice), ALICE_SAYS)
    tell(in_app, agent, ids(bob), BOB_SAYS)
    owner.post(f"/api/v1/agents/{agent}/knowledge", json={"title": "Shop", "text": "We open at nine."})
    [domain] = [d for d in gdpr.domains() if d.name == "agent_memories"]

    async def export(db, who):
        return await domain.export(db, await db.get(User, who))

    alice_data = in_app(lambda db: export(db, ids(alice)))
    assert len(alice_data["memories_about_me"]) == 5 and alice_data["knowledge_documents"] == []
    assert not any("Bob" in m["text"] for m in alice_data["memories_about_me"])
    owner_data = in_app(lambda db: export(db, ids(owner)))
    assert [d["title"] for d in owner_data["knowledge_documents"]] == ["Shop"]
    assert owner_data["memories_about_me"] == []

    async def erase(db, who):
        return await domain.erase(db, await db.get(User, who))

    in_app(lambda db: erase(db, ids(alice)))
    assert alice.get("/api/v1/me/agent-memories").json()["items"] == []
    assert len(bob.get("/api/v1/me/agent-memories").json()["items"]) == 5
    in_app(lambda db: erase(db, ids(owner)))  # the owner's agents forget everyone and lose their knowledge
    assert bob.get("/api/v1/me/agent-memories").json()["items"] == []
    assert owner.get(f"/api/v1/agents/{agent}/knowledge").json()["items"] == []
