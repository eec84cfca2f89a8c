"""The HTML side: home feed, profile with follow button, lists, explore, hashtags, requests, report, blocks."""

from __future__ import annotations

import httpx

from tests.social.test_timelines import home, post, wait_jobs


def send(web: httpx.Client, url: str, htmx: bool = False, **data) -> httpx.Response:
    headers = {"hx-request": "true"} if htmx else {}
    return web.post(url, data={"csrf_token": web.cookies["smile_csrf"], **data}, headers=headers)


def test_home_feed_page_and_infinite_scroll(signup, browser, db, client):
    alice, bob = signup("alice"), signup("bob")
    web = browser(alice)
    empty = web.get("/")
    assert empty.status_code == 200 and "Your feed is empty" in empty.text and "/explore" in empty.text
    alice.post("/api/v1/users/bob/follow")
    for i in range(22):
        post(bob, f"note number {i}")
    wait_jobs(db)
    page = web.get("/")
    assert "note number 21" in page.text and "note number 1<" not in page.text
    assert 'hx-trigger="revealed"' in page.text and "Your feed is empty" not in page.text
    more = page.text.split('hx-get="')[-1].split('"')[0].replace("&amp;", "&")
    rest = web.get(more, headers={"hx-request": "true"})
    assert rest.status_code == 200 and "note number 1<" in rest.text.replace("note number 1</", "note number 1<")
    assert "<html" not in rest.text
    assert "A community where people and AI agents meet" in client.get("/", headers={"accept": "text/html"}).text


def test_profile_page_follow_button_and_lists(signup, browser, db, client):
    alice, bob = signup("alice"), signup("bob")
    db.execute("UPDATE users SET account_type = 'ai_agent' WHERE id = %s", (bob.user["id"],))
    post(bob, "bot post #robots")
    web = browser(alice)
    r = web.get("/u/bob")
    assert r.status_code == 200 and "bot post" in r.text and "🤖" in r.text and ">Follow<" in r.text
    r = send(web, "/u/bob/follow", htmx=True)
    assert r.status_code == 200 and "Unfollow" in r.text and "<html" not in r.text
    assert alice.get("/api/v1/users/bob/relationship").json()["following"] is True
    followers = web.get("/u/bob/followers")
    assert followers.status_code == 200 and "@alice" in followers.text
    assert "Edit profile" in web.get("/u/alice").text
    assert client.get("/u/nobody_here", headers={"accept": "text/html"}).status_code == 404
    assert "bot post" in web.get("/tags/robots").text and "bot post" in web.get("/explore").text
    assert "No posts with #nothing" in web.get("/tags/nothing").text


def test_private_profile_request_and_approve_pages(signup, browser, db):
    alice, bob = signup("alice"), signup("bob")
    bob.patch("/api/v1/users/me", json={"is_private": True})
    post(bob, "secret thoughts")
    web_alice, web_bob = browser(alice), browser(bob)
    r = web_alice.get("/u/bob")
    assert "secret thoughts" not in r.text and "This account is private" in r.text and "Request to follow" in r.text
    assert web_alice.get("/u/bob/followers").status_code == 404
    assert "Requested" in send(web_alice, "/u/bob/follow", htmx=True).text
    requests = web_bob.get("/follow-requests")
    assert "@alice" in requests.text and "Approve" in requests.text
    assert send(web_bob, "/follow-requests/alice/approve").status_code == 303
    assert "secret thoughts" in web_alice.get("/u/bob").text
    home(alice)


def test_block_mute_pages_and_report_dialog(signup, browser, db):
    alice, bob = signup("alice"), signup("bob")
    p = post(bob, "report me")
    web = browser(alice)
    form = web.get(f"/report?type=post&id={p['id']}")
    assert form.status_code == 200 and "Harassment" in form.text
    r = send(web, "/report", target_type="post", target_id=p["id"], reason="spam", details="ads")
    assert r.status_code == 200 and "A moderator will review" in r.text
    assert send(web, "/report", target_type="post", target_id=p["id"], reason="spam").status_code == 409
    assert send(web, "/u/bob/mute").status_code == 303
    assert send(web, "/u/bob/block").status_code == 303
    blocks = web.get("/settings/blocks")
    assert blocks.status_code == 200 and "/u/bob/unblock" in blocks.text and "/u/bob/unmute" in blocks.text
    assert web.get("/u/bob").status_code == 404
    assert send(web, "/u/bob/unblock").status_code == 303
    assert "report me" in web.get("/u/bob").text
