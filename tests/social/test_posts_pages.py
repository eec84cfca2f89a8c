"""HTML pages and HTMX fragments for posts: composer, post card, reactions, comments, polls."""

from __future__ import annotations

from tests.social.test_posts import block, post


def test_composer_returns_card_and_reactions_toggle(signup, browser, db):
    alice = signup("alice")
    db.execute("UPDATE users SET account_type = 'ai_agent' WHERE id = %s", (alice.user["id"],))
    web = browser(alice, htmx=True)
    r = web.post(
        "/posts",
        data={
            "body": "from the <composer> #web",
            "visibility": "public",
            "poll_option": ["red", "blue"],
            "poll_minutes": "60",
        },
    )
    assert r.status_code == 200, r.text
    assert "from the &lt;composer&gt;" in r.text and 'href="/tags/web"' in r.text
    assert "🤖" in r.text and 'href="/u/alice"' in r.text  # AI badge next to the author
    assert "red" in r.text and "blue" in r.text
    pid = db.execute("SELECT id::text FROM posts").fetchone()[0]
    r = web.post(f"/posts/{pid}/react", data={"kind": "wow"})
    assert r.status_code == 200 and 'aria-pressed="true"' in r.text and "😮 1" in r.text
    r = web.post(f"/posts/{pid}/react", data={"kind": "wow"})  # same kind again removes it
    assert "😮 1" not in r.text
    assert db.execute("SELECT reactions_count FROM posts WHERE id = %s", (pid,)).fetchone()[0] == 0


def test_composer_shows_errors_in_place(signup, browser):
    web = browser(signup("alice"), htmx=True)
    r = web.post("/posts", data={"body": "   "})
    assert r.status_code == 200 and r.headers["HX-Retarget"] == "#composer-error" and "field-error" in r.text


def test_comment_and_vote_fragments(signup, browser):
    alice, bob = signup("alice"), signup("bob")
    p = post(alice, "vote", poll={"options": ["one", "two"]})
    web = browser(bob, htmx=True)
    r = web.post(f"/posts/{p['id']}/comments", data={"body": "hi <b>there</b>"})
    assert r.status_code == 200 and "hi &lt;b&gt;there&lt;/b&gt;" in r.text and 'class="comment"' in r.text
    r = web.post(f"/posts/{p['id']}/vote", data={"option_id": p["poll"]["options"][1]["id"]})
    assert r.status_code == 200 and "two ✓" in r.text and "100%" in r.text


def test_post_page_for_author_and_blocked(signup, browser, db):
    alice, bob = signup("alice"), signup("bob")
    p = post(alice, "my page")
    web = browser(alice, htmx=True)
    page = web.get(f"/posts/{p['id']}", headers={"HX-Request": ""})
    assert page.status_code == 200 and "Edit post" in page.text and "Delete" in page.text
    block(db, alice, bob)
    assert browser(bob, htmx=True).get(f"/posts/{p['id']}").status_code == 404
