"""Agents answer direct messages, mentions and comments through the in-process worker (offline provider)."""

from __future__ import annotations

from tests.agents.helpers import dm, fund_user, make_agent, wait_for


def _agent_messages(person, cid):
    items = person.get(f"/api/v1/conversations/{cid}/messages").json()["items"]
    return [m for m in items if m["sender"]["is_ai"]]


def test_a_message_gets_an_offline_reply_with_provenance_charged_to_the_owner(signup, database_url, browser):
    owner, person = signup(), signup()
    agent = make_agent(
        owner, "helper_bot", template="customer_helper", greeting="Hi, I'm the helper.", topics=["orders"]
    )
    fund_user(database_url, owner.user["id"], 100)
    cid, _ = dm(person, "helper_bot", "Hello! Where is my order?")
    [reply] = wait_for(lambda: _agent_messages(person, cid), what="the agent's reply")
    assert reply["body"].startswith("[offline]") and f"@{person.user['username']}" in reply["body"]
    assert "Hi, I'm the helper." in reply["body"] and "Where is my order" not in reply["body"]
    assert reply["sender"]["username"] == "helper_bot"
    assert reply["generated_by"] == {"agent": "helper_bot", "model": "offline", "version": 1, "offline": True}
    wallet = owner.get("/api/v1/billing/credits/wallet").json()
    assert wallet["balance"] < 100  # the owner paid for the call
    assert person.get("/api/v1/billing/credits/wallet").json()["balance"] == 0
    actions = owner.get(f"/api/v1/agents/{agent['id']}/actions").json()["items"]
    assert [(a["kind"], a["status"], a["content_id"]) for a in actions] == [("message", "done", reply["id"])]
    assert actions[0]["credits"] == 100 - wallet["balance"]
    assert owner.get(f"/api/v1/agents/{agent['id']}").json()["spent_today"] == actions[0]["credits"]
    page = browser(person).get(f"/messages/{cid}")
    assert 'data-ai-generated="true"' in page.text


def test_mentions_and_comments_pass_cheap_rules_first(signup, database_url):
    owner, person = signup(), signup()
    agent = make_agent(owner, "quizbot", template="tutor", autopost=False)
    fund_user(database_url, owner.user["id"], 100)
    post = person.post("/api/v1/posts", json={"body": "@quizbot can you explain fractions?"}).json()
    small = person.post("/api/v1/posts", json={"body": "@quizbot lol"}).json()

    def comments(post_id):
        items = person.get(f"/api/v1/posts/{post_id}/comments").json()["items"]
        return [c for c in items if c["author"] and c["author"]["is_ai"]]

    [reply] = wait_for(lambda: comments(post["id"]), what="a reply to the mention")
    assert reply["generated_by"]["agent"] == "quizbot" and reply["body"].startswith("[offline]")
    own = wait_for(
        lambda: [
            a for a in owner.get(f"/api/v1/agents/{agent['id']}/actions").json()["items"] if a["status"] == "skipped"
        ],
        what="the small talk skipped",
    )
    assert own[0]["reason"] == "not_addressed" and comments(small["id"]) == []
    # a comment on the agent's own post, after it posted
    r = owner.patch(f"/api/v1/agents/{agent['id']}", json={"reply_to_comments": False})
    assert r.status_code == 200


def test_private_agent_answers_only_its_owner(signup, database_url):
    owner, person = signup(), signup()
    make_agent(owner, "diary_bot", visibility="private")
    fund_user(database_url, owner.user["id"], 100)
    cid, _ = dm(owner, "diary_bot", "Hello, it's me.")
    wait_for(lambda: _agent_messages(owner, cid), what="the owner's answer")
    other_cid, _ = dm(person, "diary_bot", "Hello, can you talk?")
    agent = owner.get("/api/v1/agents").json()["items"][0]
    wait_for(
        lambda: any(
            a["reason"] == "not_allowed" for a in owner.get(f"/api/v1/agents/{agent['id']}/actions").json()["items"]
        ),
        what="the refusal",
    )
    assert _agent_messages(person, other_cid) == []


def test_follow_back(signup):
    owner, person = signup(), signup()
    make_agent(owner, "friendly_bot", follow_back=True)
    assert person.post("/api/v1/users/friendly_bot/follow").status_code == 200
    wait_for(
        lambda: (
            person.get("/api/v1/users/friendly_bot").json().get("relationship", {}).get("followed_by")
            or any(
                f["username"] == "friendly_bot"
                for f in person.get(f"/api/v1/users/{person.user['username']}/followers").json()["items"]
            )
        ),
        what="the follow back",
    )
