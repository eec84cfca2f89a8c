"""An agent's dashboard: counts and spend from what it did, CSV, owner only, the page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest

from smile.agents import actions
from smile.agents.actions import Trigger
from tests.agents.helpers import fund_user, make_agent, no_auto_triggers  # noqa: F401
from tests.agents.test_pipeline import _run, _send


@pytest.fixture
def acted(signup, database_url, settings, db):
    """An agent that posted twice, answered two messages in one conversation, and has a follower who reacted."""
    owner, person = signup(), signup()
    agent = make_agent(owner, autopost=True, example_posts=["Check your lamps tonight.", "Storm season starts soon."])
    fund_user(database_url, owner.user["id"], 100)
    agent_id = uuid.UUID(agent["id"])

    async def go(database):
        triggers = await _send(database, person.user["id"], agent["handle"], ["Hi, who are you?", "What do you do?"])
        triggers += [Trigger("post", agent_id, slot="t:0"), Trigger("post", agent_id, slot="t:1")]
        return [await actions.run(t, db_factory=database.session, settings=settings) for t in triggers]

    assert _run(database_url, go) == ["done"] * 4
    assert person.post(f"/api/v1/users/{agent['handle']}/follow").status_code in (200, 201)
    post_id = db.execute("SELECT id FROM posts WHERE author_id = %s LIMIT 1", (agent_id,)).fetchone()[0]
    assert person.put(f"/api/v1/posts/{post_id}/reaction", json={"kind": "like"}).status_code == 200
    spent = db.execute("SELECT sum(spent), sum(calls) FROM agent_spend WHERE agent_id = %s", (agent_id,)).fetchone()
    post_credits = db.execute(
        "SELECT sum(credits) FROM agent_actions WHERE agent_id = %s AND kind = 'post'", (agent_id,)
    ).fetchone()[0]
    return owner, person, agent, int(spent[0]), int(spent[1]), int(post_credits)


@pytest.mark.usefixtures("no_auto_triggers")
def test_dashboard_counts_what_the_agent_did_and_spent(acted):
    owner, person, agent, spent, calls, post_credits = acted
    assert spent > 0 and calls == 4
    r = owner.get(f"/api/v1/agents/{agent['id']}/dashboard?days=7")
    assert r.status_code == 200, r.text
    board = r.json()
    t = board["totals"]
    assert (t["posts"], t["messages"], t["conversations"], t["followers"], t["reactions"]) == (2, 2, 1, 1, 1)
    assert (t["replies"], t["credits"], t["calls"], t["followers_now"]) == (0, spent, calls, 1)
    assert t["cost_per_post"] == round(post_credits / 2, 2)
    assert len(board["per_day"]) == 7 and board["per_day"][-1]["day"] == dt.datetime.now(dt.UTC).date().isoformat()
    assert board["per_day"][-1]["credits"] == spent and sum(d["posts"] for d in board["per_day"][:-1]) == 0
    kinds = {k["kind"]: k for k in board["per_kind"]}
    assert kinds["post"]["actions"] == 2 and kinds["message"]["actions"] == 2
    assert kinds["post"]["credits"] + kinds["message"]["credits"] == spent
    assert board["recent_errors"] == [] and board["ratings"] is None


@pytest.mark.usefixtures("no_auto_triggers")
def test_dashboard_csv_and_owner_only(acted, signup):
    owner, person, agent, spent, _, _ = acted
    r = owner.get(f"/api/v1/agents/{agent['id']}/dashboard.csv?days=3")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 3 and rows[-1]["posts"] == "2" and rows[-1]["credits"] == str(spent)
    assert rows[0]["posts"] == "0"
    for other in (person, signup()):
        for path in ("dashboard", "dashboard.csv"):
            assert other.get(f"/api/v1/agents/{agent['id']}/{path}").status_code == 404
    assert owner.get(f"/api/v1/agents/{uuid.uuid4()}/dashboard").status_code == 404
    assert owner.get(f"/api/v1/agents/{agent['id']}/dashboard?days=0").status_code == 422
    assert owner.get(f"/api/v1/agents/{agent['id']}/dashboard?days=1000").status_code == 422


def test_csv_cells_that_start_a_formula_are_quoted():
    from smile.agents.dashboard import Dashboard, Day, Totals, to_csv

    board = Dashboard(
        agent_id=uuid.uuid4(),
        handle="x",
        days=1,
        since=dt.date(2026, 1, 1),
        totals=Totals(
            **dict.fromkeys(("posts", "replies", "messages", "conversations"), 0),
            followers=0,
            reactions=0,
            credits=0,
            calls=0,
            cost_per_post=None,
            followers_now=0,
        ),
        per_day=[Day(day=dt.date(2026, 1, 1), credits=-3)],
        per_kind=[],
        recent_errors=[],
    )
    assert to_csv(board).splitlines()[1].split(",")[7] == "'-3"


@pytest.mark.usefixtures("no_auto_triggers")
def test_dashboard_page_renders_for_the_owner_only(acted, browser, signup):
    owner, person, agent, spent, _, _ = acted
    web = browser(owner)
    page = web.get(f"/agents/{agent['id']}/dashboard")
    assert page.status_code == 200
    assert 'id="agent-dashboard-data"' in page.text and 'type="application/json"' in page.text
    assert f'id="total-credits">{spent}<' in page.text and "training console" in page.text
    assert "<script>" not in page.text  # data only: the CSP forbids inline script
    assert f'/agents/{agent["id"]}/dashboard"' in web.get(f"/agents/{agent['id']}/edit").text
    assert browser(person).get(f"/agents/{agent['id']}/dashboard").status_code == 404
    empty = make_agent(owner)
    page = web.get(f"/agents/{empty['id']}/dashboard")
    assert page.status_code == 200 and 'id="dashboard-empty"' in page.text and "agent-dashboard-data" not in page.text
