"""The moderation classifier: its labeled set, its held-out quality, its stored fit, the social hook."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading

import pytest

from smile.ai import moderation
from tests.social.test_posts import post

needs_model = pytest.mark.skipif(
    not moderation.available(), reason="needs the embeddings extra (make venv-test installs it)"
)

ABUSIVE = "You are a worthless pathetic idiot, nobody wants you here, get off this site you loser"
FRIENDLY = "Thanks everyone for the warm welcome, see you at the picnic on Saturday!"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A data dir shared by this module's tests: the first one to need the fit trains and stores it."""
    return tmp_path_factory.mktemp("moderation-store")


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
    tp = sum(r.flagged and h for r, h in zip(results, harmful, strict=True))
    fp = sum(r.flagged and not h for r, h in zip(results, harmful, strict=True))
    fn = sum(h and not r.flagged for r, h in zip(results, harmful, strict=True))
    assert tp / (tp + fp) >= 0.9, (tp, fp)  # what it holds is nearly always harmful
    assert tp / (tp + fn) >= 0.75, (tp, fn)
    right = sum(r.label == label for r, (label, _) in zip(results, held, strict=True))
    assert right / len(held) >= 0.8


def test_probabilities_are_scikit_learns():
    np = pytest.importorskip("numpy")
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(7)
    vectors, labels = rng.normal(size=(140, 384)), [moderation.LABELS[i % 7] for i in range(140)]
    model = linear_model.LogisticRegression(C=10.0, max_iter=3000).fit(vectors, labels)
    plain = moderation.Classifier(model.classes_, model.coef_, model.intercept_, vectors[:3])
    assert np.allclose(plain.probabilities(vectors), model.predict_proba(vectors), atol=1e-12)


@needs_model
def test_fit_is_stored_once_and_read_back(store, monkeypatch):
    np = pytest.importorskip("numpy")
    path = moderation.stored(store)
    assert not path.exists()
    fitted = moderation.obtain(store)  # nothing stored: trains, then writes the file
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind
    back = moderation.Classifier.read(path)
    assert back.classes == fitted.classes
    for name in ("coef", "intercept", "harmful"):
        assert np.array_equal(getattr(back, name), getattr(fitted, name))
    texts = [ABUSIVE, FRIENDLY]
    assert [r.scores for r in back.predict(texts)] == [r.scores for r in fitted.predict(texts)]

    # what is stored is what a process uses: change the file and obtain() returns the change
    moderation.Classifier(fitted.classes, fitted.coef, fitted.intercept + 1.0, fitted.harmful).save(path)
    assert np.array_equal(moderation.obtain(store).intercept, fitted.intercept + 1.0)
    fitted.save(path)

    # another training set, model or feature version is another file
    monkeypatch.setattr(moderation, "FEATURES", moderation.FEATURES + 1)
    assert moderation.stored(store) != path and moderation.stored(store).parent == path.parent


@needs_model
def test_train_classifier_command_keeps_a_current_fit(store, settings):
    path = moderation.stored(store)
    moderation.obtain(store)  # stored already by the test above (or now)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMILE_")}
    env.update(COLUMNS="500", NO_COLOR="1", SMILE_DATA_DIR=str(store))
    proc = subprocess.run(
        [sys.executable, "-m", "smile.cli", "train-classifier"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"stored fit {path} is current" in proc.stdout + proc.stderr
    off = settings.model_copy(update={"moderation_classifier": False, "data_dir": store})
    assert "nothing to train" in moderation.prepare(off)


@needs_model
def test_damaged_fit_is_trained_again(tmp_path):
    path = moderation.stored(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 and then nothing")  # damaged: a zip that ends early
    fitted = moderation.obtain(tmp_path)
    assert moderation.Classifier.read(path).classes == fitted.classes  # replaced by a good one


@needs_model
def test_a_post_never_waits_for_the_classifier(store, settings, monkeypatch):
    on = settings.model_copy(update={"moderation_classifier": True, "data_dir": store})
    monkeypatch.setattr(moderation, "_classifier", None)  # as in a process that just started
    monkeypatch.setattr(moderation, "_ready", threading.Event())
    assert asyncio.run(moderation.flag(ABUSIVE, on)) is None  # not loaded yet: only the rules decide
    assert moderation._ready.wait(120)  # the first call started loading it in the background
    assert asyncio.run(moderation.flag(ABUSIVE, on)) == "harassment"


@needs_model
def test_classify_labels(settings):
    abusive, friendly, threat = asyncio.run(
        moderation.classify([ABUSIVE, FRIENDLY, "I know where you live and I will hurt you and your family"])
    )
    assert abusive.flagged and abusive.label == "harassment" and abusive.score >= 0.7
    assert not friendly.flagged and friendly.label == "ok" and friendly.score < 0.3
    assert threat.flagged and threat.label == "violence"
    assert set(abusive.scores) == set(moderation.LABELS)


@needs_model
def test_abusive_post_is_held_for_review_and_a_friendly_one_is_not(signup, db, client, settings, monkeypatch):
    monkeypatch.setattr(settings, "moderation_classifier", True)  # the live server shares this settings object
    moderation.classifier()  # loaded in this process (the server's): until it is, posts skip the classifier
    alice, bob = signup("alice"), signup("bob")
    bad = post(alice, ABUSIVE)
    assert bad["status"] == "held"
    assert bob.get(f"/api/v1/posts/{bad['id']}").status_code == 404
    assert alice.get(f"/api/v1/posts/{bad['id']}").status_code == 200
    report = db.execute(
        "SELECT reporter_id, target_type, reason, status FROM reports WHERE target_id = %s", (bad["id"],)
    ).fetchone()
    assert report == (None, "post", "auto:ai:harassment", "open")
    good = post(alice, FRIENDLY)
    assert good["status"] == "visible"
    assert client.get(f"/api/v1/posts/{good['id']}").status_code == 200
    assert db.execute("SELECT count(*) FROM reports WHERE target_id = %s", (good["id"],)).fetchone()[0] == 0
    r = bob.post(f"/api/v1/posts/{good['id']}/comments", json={"body": "Send me nudes, I want explicit pics"})
    assert r.status_code == 201 and r.json()["status"] == "held"
    assert db.execute("SELECT reason FROM reports WHERE target_type = 'comment'").fetchone() == ("auto:ai:sexual",)
