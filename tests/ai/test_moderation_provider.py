"""SMILE_MODERATION_PROVIDER: the social hook also asks the provider's moderation endpoint (the OpenAI stub)."""

from __future__ import annotations

import pytest

from smile.kit import runtime
from tests.ai.stubs import MODERATION_MODEL
from tests.social.test_posts import post

THREAT = "I will find you after school and you will regret it"
FRIENDLY = "Lovely weather for a picnic by the lake today"


@pytest.fixture
def provider_moderation(server, openai_stub):
    """The server's settings with the OpenAI stub as moderation provider (the local classifier off)."""
    openai_stub.reset()
    settings = runtime.current().settings
    update = {
        "ai_providers": f"stub|openai|{openai_stub.url}/v1|sk-test",
        "moderation_provider": "stub",
        "moderation_classifier": False,
        "ai_timeout_seconds": 1.0,
    }
    old = {key: getattr(settings, key) for key in update}
    for key, value in update.items():
        setattr(settings, key, value)
    yield openai_stub
    for key, value in old.items():
        setattr(settings, key, value)


def reason(db, target_id):
    return db.execute("SELECT reason FROM reports WHERE target_id = %s", (target_id,)).fetchall()


def test_flagged_post_is_held_and_a_clean_one_is_not(provider_moderation, signup, db, client):
    alice, bob = signup("alice"), signup("bob")
    bad = post(alice, THREAT)
    assert bad["status"] == "held"
    assert bob.get(f"/api/v1/posts/{bad['id']}").status_code == 404
    assert reason(db, bad["id"]) == [("auto:provider:harassment/threatening",)]
    good = post(alice, FRIENDLY)
    assert good["status"] == "visible" and reason(db, good["id"]) == []
    assert client.get(f"/api/v1/posts/{good['id']}").status_code == 200
    assert [r["input"] for r in provider_moderation.calls(MODERATION_MODEL)] == [THREAT, FRIENDLY]


def test_rules_decide_first_without_asking_the_provider(provider_moderation, signup, db):
    held = post(signup("alice"), "WIN " + "!" * 50)
    assert held["status"] == "held" and reason(db, held["id"]) == [("auto:repeated",)]
    assert provider_moderation.calls() == []


@pytest.mark.parametrize("mode", ["500", "429", "stall"])
def test_a_failing_provider_does_not_block_posting(provider_moderation, signup, db, mode):
    provider_moderation.plan(MODERATION_MODEL, mode)
    alice = signup("alice")
    p = post(alice, THREAT)  # the stub would flag it, but it fails: the local checks alone decide
    assert p["status"] == "visible" and reason(db, p["id"]) == []
    assert len(provider_moderation.calls(MODERATION_MODEL)) == 1
    assert post(alice, THREAT + " again")["status"] == "held"  # the next call works again


def test_an_unknown_or_anthropic_provider_is_ignored(provider_moderation, signup, db):
    settings = runtime.current().settings
    alice = signup("alice")
    settings.moderation_provider = "nope"
    assert post(alice, THREAT)["status"] == "visible"
    settings.ai_providers += ";anth|anthropic|http://127.0.0.1:9|ak-test"  # no moderation endpoint
    settings.moderation_provider = "anth"
    assert post(alice, THREAT + " again")["status"] == "visible"
    assert provider_moderation.calls() == [] and db.execute("SELECT count(*) FROM reports").fetchone() == (0,)
