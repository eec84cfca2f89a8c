"""The moderation classifier: its labeled set, its quality on the held-out split, the social hook."""

from __future__ import annotations

import asyncio

import pytest

from smile.ai import moderation
from tests.social.test_posts import post

needs_model = pytest.mark.skipif(not moderation.available(),
                                 reason="needs the embeddings extra (make venv-test installs it)")

ABUSIVE = "You are a worthless pathetic idiot, nobody wants you here, get off this site you loser"
FRIENDLY = "Thanks everyone for the warm welcome, see you at the picnic on Saturday!"


def test_labeled_set_is_split_and_covers_every_class():
    train, held = moderation.load("train"), moderation.load("heldout")
    assert {label for label, _ in train} == {label for label, _ in held} == set(moderation.LABELS)
    assert len(train) + len(held) >= 400
    assert not {text for _, text in train} & {text for _, text in held}  # no example is in both


def test_off_when_the_setting_says_so(settings):
    off = settings.model_copy(update={"moderation_classifier": False})
    assert moderation.enabled(off) is False
    assert asyncio.run(moderation.flag(ABUSIVE, off)) is None
    default = settings.model_copy(update={"moderation_classifier": None})
    assert moderation.enabled(default) is moderation.available()  # default: on exactly when installed


@needs_model
def test_precision_and_recall_on_the_held_out_split():
    held = moderation.load("heldout")
    results = moderation.classifier().predict([text for _, text in held])
    harmful = [label != "ok" for label, _ in held]
    tp = sum(r.flagged and h for r, h in zip(results, harmful))
    fp = sum(r.flagged and not h for r, h in zip(results, harmful))
    fn = sum(h and not r.flagged for r, h in zip(results, harmful))
    assert tp / (tp + fp) >= 0.9, (tp, fp)  # what it holds is nearly always harmful
    assert tp / (tp + fn) >= 0.75, (tp, fn)
    right = sum(r.label == label for r, (label, _) in zip(results, held))
    assert right / len(held) >= 0.8


@needs_model
def test_classify_labels(settings):
    abusive, friendly, threat = asyncio.run(moderation.classify(
        [ABUSIVE, FRIENDLY, "I know where you live and I will hurt you and your family"]))
    assert abusive.flagged and abusive.label == "harassment" and abusive.score >= 0.7
    assert not friendly.flagged and friendly.label == "ok" and friendly.score < 0.3
    assert threat.flagged and threat.label == "violence"
    assert set(abusive.scores) == set(moderation.LABELS)


@needs_model
def test_abusive_post_is_held_for_review_and_a_friendly_one_is_not(signup, db, client, settings, monkeypatch):
    monkeypatch.setattr(settings, "moderation_classifier", True)  # the live server shares this settings object
    moderation.classifier()  # loaded in this process (the server's): a request waits at most READY_WAIT
    alice, bob = signup("alice"), signup("bob")
    bad = post(alice, ABUSIVE)
    assert bad["status"] == "held"
    assert bob.get(f"/api/v1/posts/{bad['id']}").status_code == 404
    assert alice.get(f"/api/v1/posts/{bad['id']}").status_code == 200
    report = db.execute("SELECT reporter_id, target_type, reason, status FROM reports WHERE target_id = %s",
                        (bad["id"],)).fetchone()
    assert report == (None, "post", "auto:ai:harassment", "open")
    good = post(alice, FRIENDLY)
    assert good["status"] == "visible"
    assert client.get(f"/api/v1/posts/{good['id']}").status_code == 200
    assert db.execute("SELECT count(*) FROM reports WHERE target_id = %s", (good["id"],)).fetchone()[0] == 0
    r = bob.post(f"/api/v1/posts/{good['id']}/comments", json={"body": "Send me nudes, I want explicit pics"})
    assert r.status_code == 201 and r.json()["status"] == "held"
    assert db.execute("SELECT reason FROM reports WHERE target_type = 'comment'").fetchone() == ("auto:ai:sexual",)
