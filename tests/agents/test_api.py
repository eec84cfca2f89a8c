"""The agents JSON API: create from a template or from scratch, read, list, update, delete; owner only."""

from __future__ import annotations

import uuid


def _create(api, handle=None, **fields):
    handle = handle or f"a{uuid.uuid4().hex[:10]}"
    return api.post("/api/v1/agents", json={"handle": handle, **fields})


def test_create_from_template_is_an_ai_account_run_by_its_owner(signup, browser):
    owner = signup()
    r = _create(owner, "tutor_bot", template="tutor", display_name="Tutor Bot", daily_budget=50)
    assert r.status_code == 201, r.text
    agent = r.json()
    assert agent["is_ai"] is True and agent["owner"] == owner.user["username"] and agent["template"] == "tutor"
    assert "step by step" in agent["persona"] and agent["autopost"] is True and agent["daily_budget"] == 50
    assert agent["version"] == 1 and agent["model"] == "offline" and agent["visibility"] == "public"
    profile = owner.get("/api/v1/users/tutor_bot").json()
    assert profile["is_ai"] is True and profile["account_type"] == "ai_agent"
    page = browser().get("/u/tutor_bot")
    assert page.status_code == 200
    assert "🤖 AI agent · run by" in page.text and f"@{owner.user['username']}" in page.text


def test_create_from_scratch_and_validation_names_the_field(signup):
    owner = signup()
    r = _create(owner, "Bad Handle!")
    assert r.status_code == 422 and "handle" in r.json()["fields"]
    r = _create(owner, temperature=3)
    assert r.status_code == 422 and "temperature" in r.json()["fields"]
    r = _create(owner, template="wizard")
    assert r.status_code == 422 and "template" in r.json()["fields"]
    r = _create(owner, model="no-such-model")
    assert r.status_code == 422 and r.json()["fields"] == {"model": "unknown model"}
    r = _create(owner, active_from=20, active_to=8)
    assert r.status_code == 422
    r = _create(owner, visibility="secret")
    assert r.status_code == 422 and "visibility" in r.json()["fields"]
    r = _create(owner, "scratchy", persona="A quiet librarian.", topics=["books"])
    assert r.status_code == 201 and r.json()["persona"] == "A quiet librarian." and r.json()["template"] == "scratch"
    r = _create(owner, "scratchy")
    assert r.status_code == 409 and r.json()["fields"] == {"handle": "taken"}


def test_sign_up_still_refuses_ai_agent_accounts(client):
    r = client.post(
        "/api/v1/auth/register",
        json={
            "email": "x@example.com",
            "username": "robo",
            "password": "Correct-Horse-42",
            "display_name": "R",
            "accept_terms": True,
            "account_type": "ai_agent",
        },
    )
    assert r.status_code == 422 and "account_type" in r.json()["fields"]


def test_list_mine_paginates_and_another_user_gets_404(signup):
    owner, other = signup(), signup()
    ids = [_create(owner).json()["id"] for _ in range(3)]
    first = owner.get("/api/v1/agents?limit=2").json()
    assert [a["id"] for a in first["items"]] == ids[::-1][:2] and first["next_cursor"]
    second = owner.get(f"/api/v1/agents?limit=2&cursor={first['next_cursor']}").json()
    assert [a["id"] for a in second["items"]] == [ids[0]] and second["next_cursor"] is None
    assert other.get("/api/v1/agents").json()["items"] == []
    for method in ("get", "patch", "delete"):
        kw = {"json": {"persona": "hijacked"}} if method == "patch" else {}
        r = getattr(other, method)(f"/api/v1/agents/{ids[0]}", **kw)
        assert r.status_code == 404, (method, r.text)
    assert other.get(f"/api/v1/agents/{ids[0]}/character").status_code == 404
    assert owner.get(f"/api/v1/agents/{ids[0]}").json()["persona"] != "hijacked"


def test_update_bumps_the_version_and_delete_erases_the_account(signup):
    owner = signup()
    agent = _create(owner, "fixme", template="expert").json()
    r = owner.patch(
        f"/api/v1/agents/{agent['id']}", json={"persona": "A chess coach.", "display_name": "Coach", "daily_budget": 10}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["persona"] == "A chess coach." and body["display_name"] == "Coach" and body["version"] == 2
    r = owner.patch(f"/api/v1/agents/{agent['id']}", json={"daily_budget": 20})
    assert r.json()["version"] == 2 and r.json()["daily_budget"] == 20
    assert owner.patch(f"/api/v1/agents/{agent['id']}", json={"posts_per_day": 100}).status_code == 422
    assert owner.patch(f"/api/v1/agents/{agent['id']}", json={"unknown": 1}).status_code == 422
    assert owner.delete(f"/api/v1/agents/{agent['id']}").status_code == 204
    assert owner.get(f"/api/v1/agents/{agent['id']}").status_code == 404
    assert owner.get("/api/v1/users/fixme").status_code == 404


def test_templates_are_listed(client):
    ids = {t["id"] for t in client.get("/api/v1/agents/templates").json()}
    assert {"influencer", "expert", "entertainer", "customer_helper", "tutor", "scratch"} <= ids


def test_pages_create_from_a_template_and_edit(signup, browser):
    owner = signup()
    web = browser(owner)
    page = web.get("/agents/new?template=entertainer")
    assert page.status_code == 200 and "wordplay" in page.text
    r = web.post(
        "/agents/new",
        data={
            "csrf_token": web.cookies["smile_csrf"],
            "template": "entertainer",
            "handle": "punster",
            "display_name": "Punster",
            "persona": "Puns all day.",
            "topics": "puns, riddles",
            "temperature": "0.9",
            "posts_per_day": "2",
            "active_from": "8",
            "active_to": "22",
            "daily_budget": "30",
            "model": "offline",
            "visibility": "public",
            "autopost": "on",
        },
    )
    assert r.status_code == 303, r.text
    agent = owner.get("/api/v1/agents").json()["items"][0]
    assert agent["handle"] == "punster" and agent["topics"] == ["puns", "riddles"] and agent["daily_budget"] == 30
    edit = web.get(r.headers["location"])
    assert edit.status_code == 200 and "Puns all day." in edit.text
    r = web.post(
        f"/agents/{agent['id']}/edit",
        data={
            "csrf_token": web.cookies["smile_csrf"],
            "display_name": "Punster II",
            "persona": "More puns.",
            "temperature": "5",
            "model": "offline",
            "visibility": "public",
        },
    )
    assert r.status_code == 303
    assert owner.get(f"/api/v1/agents/{agent['id']}").json()["persona"] == "Puns all day."  # 5 is refused
    assert web.get("/agents").status_code == 200
    other = browser(signup())
    assert other.get(f"/agents/{agent['id']}/edit").status_code == 404
