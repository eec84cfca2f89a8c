"""Knowledge over real HTTP: upload each format or paste text, list, preview, search, delete, re-index,
limits with clear 4xx errors, and only the agent's owner sees any of it."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from smile.agents.knowledge import extract, service
from tests.agents.knowledge import files

DATA = Path(__file__).parent / "data"


def base(agent_id) -> str:
    return f"/api/v1/agents/{agent_id}/knowledge"


@pytest.fixture
def owner(signup):
    return signup()


@pytest.fixture
def agent(owner, make_agent):
    return make_agent(owner.user["id"])


def upload(api, agent_id, name: str, data: bytes, title: str | None = None):
    return api.post(base(agent_id), files={"file": (name, data)}, data={"title": title} if title else None)


def test_each_format_is_read_chunked_and_found(owner, agent):
    uploads = {
        "harbor-bikes.md": (DATA / "harbor-bikes.md").read_bytes(),
        "sourdough.html": (DATA / "sourdough.html").read_bytes(),
        "orbit-club.txt": (DATA / "orbit-club.txt").read_bytes(),
        "prices.csv": b"product,price,colour\nCity bike Aurora,649 euros,teal\nKids bike Pip,229 euros,red\n",
        "fern.docx": files.docx("Fern care", ["Water the staghorn fern every Friday with rain water."]),
        "manual.pdf": files.pdf(["The Zephyr lamp switches off after 40 minutes of silence."]),
    }
    made = {}
    for name, data in uploads.items():
        r = upload(owner, agent, name, data)
        assert r.status_code == 201, (name, r.text)
        made[name] = r.json()
        assert r.json()["chunks_count"] >= 1 and r.json()["status"] == "ready"
        assert r.json()["kind"] == name.rsplit(".", 1)[1]
    assert made["harbor-bikes.md"]["title"] == "harbor-bikes"
    r = owner.post(base(agent), json={"title": "Staff notes", "text": "The spare shop key hangs behind the blue door."})
    assert r.status_code == 201 and r.json()["kind"] == "text" and r.json()["title"] == "Staff notes"

    for query, title in [
        ("what colour is the Aurora city bike", "prices"),
        ("how do I water my fern", "fern"),
        ("when does the lamp turn itself off", "manual"),
        ("where is the spare key", "Staff notes"),
    ]:
        hits = owner.get(f"{base(agent)}/search", params={"q": query}).json()
        assert hits and hits[0]["title"] == title, (query, hits[:2])

    html = owner.get(f"{base(agent)}/{made['sourdough.html']['id']}").json()
    assert html["preview"].startswith("# The Slow Loaf")
    assert "var x" not in html["preview"] and "Copyright" not in html["preview"]  # scripts and footers dropped
    assert html["chunks"][0]["position"] == 0
    assert html["chunks"][1]["heading"] == "The Slow Loaf: a sourdough guide > Making a starter"


def test_list_pages_delete_and_reindex(owner, agent):
    ids = [owner.post(base(agent), json={"text": f"Note number {i} about apples."}).json()["id"] for i in range(3)]
    first = owner.get(base(agent), params={"limit": 2}).json()
    assert [d["id"] for d in first["items"]] == ids[::-1][:2] and first["next_cursor"]
    rest = owner.get(base(agent), params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [d["id"] for d in rest["items"]] == [ids[0]] and rest["next_cursor"] is None

    assert owner.delete(f"{base(agent)}/{ids[1]}").status_code == 204
    assert owner.get(f"{base(agent)}/{ids[1]}").status_code == 404
    assert owner.delete(f"{base(agent)}/{ids[1]}").status_code == 404
    found = {hit["document_id"] for hit in owner.get(f"{base(agent)}/search", params={"q": "apples note"}).json()}
    assert found == {ids[0], ids[2]}

    r = owner.post(f"{base(agent)}/reindex")
    assert r.status_code == 202 and r.json() == {"documents": 2}
    deadline = time.time() + 60
    while time.time() < deadline:  # the in-process worker runs the job
        statuses = {d["status"] for d in owner.get(base(agent)).json()["items"]}
        if statuses == {"ready"}:
            break
        time.sleep(0.2)
    assert statuses == {"ready"}
    assert owner.post(f"{base(agent)}/{ids[0]}/reindex").json() == {"documents": 1}
    assert owner.post(f"{base(agent)}/{ids[1]}/reindex").status_code == 404


def test_only_the_owner_manages_knowledge(owner, agent, signup, make_user):
    doc = owner.post(base(agent), json={"text": "Secret recipe: add cardamom."}).json()
    stranger = signup()
    person = uuid.UUID(owner.user["id"])  # a person's id is not an agent
    for api, agent_id in [(stranger, agent), (owner, person), (owner, uuid.uuid4()), (owner, make_user())]:
        assert api.get(base(agent_id)).status_code == 404
        assert api.post(base(agent_id), json={"text": "x"}).status_code == 404
        assert api.get(f"{base(agent_id)}/search", params={"q": "recipe"}).status_code == 404
        assert api.post(f"{base(agent_id)}/reindex").status_code == 404
    r = stranger.get(f"{base(agent)}/{doc['id']}")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert stranger.delete(f"{base(agent)}/{doc['id']}").status_code == 404
    assert owner.get(f"{base(agent)}/{doc['id']}").status_code == 200


def test_knowledge_never_crosses_agents(owner, agent, make_agent, in_app):
    other = make_agent(owner.user["id"])
    owner.post(base(other), json={"title": "Other", "text": "The password of the vault is tangerine."})
    owner.post(base(agent), json={"title": "Mine", "text": "Our vault opens at nine every morning."})
    chunks = in_app(lambda db: service.retrieve(db, agent, "vault password tangerine", k=5))
    assert [c.title for c in chunks] == ["Mine"]


def test_limits_answer_clear_errors(owner, agent, monkeypatch):
    r = upload(owner, agent, "virus.exe", b"MZ...")
    assert r.status_code == 415 and r.json()["fields"] == {"file": "unsupported type"}
    r = upload(owner, agent, "broken.pdf", b"%PDF-1.4 this is not really a pdf")
    assert r.status_code == 422 and "could not be read" in r.json()["detail"]
    r = upload(owner, agent, "blank.txt", b"   \n\n ")
    assert r.status_code == 422 and r.json()["fields"] == {"file": "no text"}
    r = upload(owner, agent, "empty.md", b"")
    assert r.status_code == 422
    r = owner.post(base(agent), json={"text": ""})
    assert r.status_code == 422 and "text" in r.json()["fields"]
    r = owner.post(base(agent), content=b"plain", headers={"content-type": "text/plain"})
    assert r.status_code == 415

    monkeypatch.setattr(service, "MAX_FILE_BYTES", 1000)
    r = upload(owner, agent, "big.txt", b"word " * 400)
    assert r.status_code == 413 and "larger than" in r.json()["detail"]
    monkeypatch.setattr(extract, "MAX_PDF_PAGES", 1)
    r = upload(owner, agent, "two.pdf", files.pdf(["one", "two"]))
    assert r.status_code == 413 and "2 pages" in r.json()["detail"]
    monkeypatch.setattr(service, "MAX_CHUNKS_PER_AGENT", 3)
    assert owner.post(base(agent), json={"text": "a\n\n# b\n\nc"}).status_code == 201  # 2 passages
    r = owner.post(base(agent), json={"text": "d\n\n# e\n\nf"})
    assert r.status_code == 409 and r.json()["error"] == "knowledge_full" and "2 of at most 3" in r.json()["detail"]
    assert owner.get(base(agent)).json()["items"][0]["chunks_count"] == 2


def test_knowledge_page(owner, agent, browser, signup):
    web = browser(owner)
    page = web.get(f"/agents/{agent}/knowledge")
    assert page.status_code == 200 and 'id="knowledge"' in page.text and "No documents yet" in page.text
    r = web.post(
        f"/agents/{agent}/knowledge",
        data={"csrf_token": web.cookies["smile_csrf"], "title": "Hours"},
        files={"file": ("hours.md", b"# Hours\n\nOpen daily from 8 to 5.")},
    )
    assert r.status_code == 303
    page = web.get(f"/agents/{agent}/knowledge")
    assert "Hours" in page.text and "Added" in page.text
    r = web.post(
        f"/agents/{agent}/knowledge", data={"csrf_token": web.cookies["smile_csrf"]}, files={"file": ("x.exe", b"MZ")}
    )
    assert r.status_code == 303 and ".docx file" in web.get(f"/agents/{agent}/knowledge").text
    doc = owner.get(base(agent)).json()["items"][0]
    assert "Open daily from 8 to 5." in web.get(f"/agents/{agent}/knowledge/{doc['id']}").text
    assert browser(signup()).get(f"/agents/{agent}/knowledge").status_code == 404
