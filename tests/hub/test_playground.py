"""The playground over real HTTP: the page, the streamed reply (server-sent events), exact charges, refusals."""

from __future__ import annotations

import json

import httpx

from tests.admin.helpers import make_admin

CHAT = "/hub/playground/chat"
HELLO = {"model": "offline", "system": "Answer briefly.", "messages": [{"role": "user", "content": "Hello there"}]}


def fund(signup, db, api, amount: int) -> None:
    admin = make_admin(signup, db)
    r = admin.post(
        "/api/v1/admin/finance/credit-adjustments",
        json={"user": api.user["username"], "amount": amount, "reason": "playground test"},
    )
    assert r.status_code == 201, r.text


def events(response: httpx.Response) -> list[tuple[str, dict]]:
    out = []
    for frame in response.text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if "event" in lines:
            out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_page_lists_the_models_and_the_balance(signup, db):
    alice = signup()
    fund(signup, db, alice, 1234)
    r = alice.get("/hub/playground", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert 'value="offline"' in r.text and "(offline, local replies)" in r.text
    assert 'id="pg-balance" data-value="1234"' in r.text


def test_reply_streams_and_is_charged_exactly(signup, db):
    alice = signup()
    fund(signup, db, alice, 500)
    r = alice.post(CHAT, json=HELLO)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    got = events(r)
    kinds = [k for k, _ in got]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("delta") >= 2
    text = "".join(d["text"] for k, d in got if k == "delta")
    assert text.startswith("[offline]") and "Hello there" in text and "Answer briefly." in text
    counts = [d["output_tokens"] for k, d in got if k == "delta"]
    assert counts == sorted(counts) and counts[0] > 0  # the live counter only goes up
    done = got[-1][1]
    assert done["offline"] is True and done["provider"] == "offline" and done["model"] == "offline"
    assert done["output_tokens"] == counts[-1] and done["credits"] >= 1
    assert done["balance"] == 500 - done["credits"]
    row = db.execute(
        "SELECT status, stream, api_key_id, credits, input_tokens, output_tokens FROM ai_usage WHERE user_id = %s",
        (alice.user["id"],),
    ).fetchall()
    assert row == [("ok", True, None, done["credits"], done["input_tokens"], done["output_tokens"])]
    wallet = alice.get("/api/v1/billing/credits/wallet").json()
    assert (wallet["balance"], wallet["held"]) == (500 - done["credits"], 0)


def test_a_follow_up_turn_sends_the_transcript(signup, db):
    alice = signup()
    fund(signup, db, alice, 500)
    turns = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "[offline] Hello"},
        {"role": "user", "content": "What about pelicans?"},
    ]
    got = events(alice.post(CHAT, json={"model": "offline", "messages": turns, "max_tokens": 5}))
    done = got[-1][1]
    assert done["finish_reason"] == "length" and done["output_tokens"] == 5
    single = events(alice.post(CHAT, json={"model": "offline", "messages": turns[-1:], "max_tokens": 5}))[-1][1]
    assert done["input_tokens"] > single["input_tokens"]


def test_refusals_come_before_any_output(signup, db):
    alice = signup()
    r = alice.post(CHAT, json=HELLO)  # an empty wallet
    assert r.status_code == 402 and r.json()["error"] == "insufficient_funds"
    assert "top up" in r.json()["detail"]
    assert db.execute("SELECT status FROM ai_usage").fetchall() == [("insufficient_credits",)]
    r = alice.post(CHAT, json={**HELLO, "model": "no-such-model"})
    assert r.status_code == 404 and r.json()["error"] == "model_not_found"
    r = alice.post(CHAT, json={**HELLO, "messages": [{"role": "assistant", "content": "hi"}]})
    assert r.status_code == 422 and "last message must be yours" in r.json()["fields"]["messages"]
    r = alice.post(CHAT, json={**HELLO, "messages": []})
    assert r.status_code == 422 and r.json()["error"] == "invalid"
    r = alice.post(CHAT, json={**HELLO, "max_tokens": 0})
    assert r.status_code == 422 and "max_tokens" in r.json()["fields"]


def test_browser_session_needs_the_csrf_header(signup, db, browser):
    alice = signup()
    fund(signup, db, alice, 100)
    web = browser(alice)
    web.headers["Accept"] = "text/event-stream"  # as playground.js sends
    assert web.post(CHAT, json=HELLO).json()["error"] == "csrf_failed"
    r = web.post(CHAT, json=HELLO, headers={"X-CSRF-Token": web.cookies["smile_csrf"]})
    assert r.status_code == 200 and events(r)[-1][0] == "done"
    assert db.execute("SELECT count(*) FROM ai_usage WHERE status = 'ok'").fetchone() == (1,)


def test_signed_out_visitors_are_sent_to_log_in(client):
    r = client.get("/hub/playground", headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.post(CHAT, json=HELLO).status_code == 401
