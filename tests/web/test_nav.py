"""The top bar: it shows who is signed in on every page, and /signup leads to the sign-up page."""

from __future__ import annotations

import re
import uuid


def _top_bar_avatar(html: str) -> tuple[str, str]:
    link = re.search(r'<a class="avatar-link"[^>]*title="@(\w+)">(.*?)</a>', html, re.S)
    assert link, "no avatar link in the top bar"
    return link.group(1), link.group(2)


def test_top_bar_shows_the_signed_in_person_on_someone_elses_profile(signup, browser):
    alice, zed = signup(f"alice{uuid.uuid4().hex[:8]}"), signup(f"zed{uuid.uuid4().hex[:8]}")
    web = browser(alice)
    html = web.get(f"/u/{zed.user['username']}").text
    who, avatar = _top_bar_avatar(html)
    assert who == alice.user["username"]
    assert ">A<" in avatar and ">Z<" not in avatar  # her initial, not the profile owner's


def test_signup_leads_to_the_sign_up_page(client):
    r = client.get("/signup", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "/register"
