"""Settings pages (profile, privacy, account) and the public profile page, with a browser session."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image


def csrf(web: httpx.Client) -> str:
    return web.cookies["smile_csrf"]


def test_profile_page_edit(signup, browser):
    api = signup()
    web = browser(api)
    page = web.get("/settings/profile")
    assert page.status_code == 200 and api.user["display_name"] in page.text
    for href in (
        "/settings/profile",
        "/settings/privacy",
        "/settings/security",
        "/settings/sessions",
        "/settings/account",
    ):
        assert f'href="{href}"' in page.text
    form = {
        "display_name": "New Name",
        "bio": "<i>Hi</i> there",
        "links": "https://a.example\n\nhttps://b.example",
        "location": "Oslo",
        "language": "nb",
        "timezone": "Europe/Oslo",
    }
    # without the CSRF token the post is refused
    assert web.post("/settings/profile", data=form).status_code == 403
    bad = web.post("/settings/profile", data=form | {"timezone": "Nowhere/City", "csrf_token": csrf(web)})
    assert bad.status_code == 422 and "IANA time zone" in bad.text and "New Name" in bad.text
    ok = web.post("/settings/profile", data=form | {"csrf_token": csrf(web)})
    assert ok.status_code == 303
    me = api.get("/api/v1/users/me").json()
    assert (me["display_name"], me["bio"], me["timezone"]) == ("New Name", "Hi there", "Europe/Oslo")
    assert me["links"] == ["https://a.example", "https://b.example"]
    assert "Profile saved." in web.get("/settings/profile").text


def test_avatar_upload_and_remove_from_page(signup, browser):
    api = signup()
    web = browser(api)
    png = io.BytesIO()
    Image.new("RGB", (300, 300), "orange").save(png, "PNG")
    r = web.post(
        "/settings/profile/avatar",
        data={"csrf_token": csrf(web)},
        files={"file": ("me.png", png.getvalue(), "image/png")},
    )
    assert r.status_code == 303
    assert api.get("/api/v1/users/me").json()["avatar_url"]
    r = web.post(
        "/settings/profile/avatar",
        data={"csrf_token": csrf(web)},
        files={"file": ("notes.png", b"plain text", "image/png")},
    )
    assert r.status_code == 303
    assert "Upload a JPEG, PNG, WebP or GIF image." in web.get("/settings/profile").text
    r = web.post("/settings/profile/avatar/delete", data={"csrf_token": csrf(web)})
    assert r.status_code == 303 and api.get("/api/v1/users/me").json()["avatar_url"] is None


def test_privacy_page(signup, browser):
    api = signup()
    web = browser(api)
    assert "Who can message me" in web.get("/settings/privacy").text
    r = web.post("/settings/privacy", data={"csrf_token": csrf(web), "is_private": "1", "who_can_message": "nobody"})
    assert r.status_code == 303
    me = api.get("/api/v1/users/me").json()
    assert (me["is_private"], me["who_can_message"], me["discoverable_by_email"]) == (True, "nobody", False)
    web.post("/settings/privacy", data={"csrf_token": csrf(web), "who_can_message": "telepathy"})
    assert api.get("/api/v1/users/me").json()["who_can_message"] == "nobody"
    page = web.get("/settings/privacy").text  # each label stores the value whose rule it names
    for value, label in (("followers", "People who follow me"), ("following", "People I follow")):
        assert f'<option value="{value}" >{label}</option>' in page
    web.post("/settings/privacy", data={"csrf_token": csrf(web), "who_can_message": "following"})
    assert api.get("/api/v1/users/me").json()["who_can_message"] == "following"


def test_account_page_age_export_and_delete(signup, browser, mailbox):
    api = signup()
    web = browser(api)
    page = web.get("/settings/account")
    assert page.status_code == 200 and "Delete my account" in page.text
    assert re.search(r"erased for good", page.text)
    web.post("/settings/account/age", data={"csrf_token": csrf(web), "date_of_birth": "2000-01-01"})
    assert api.get("/api/v1/users/me").json()["is_adult"] is True
    web.post("/settings/account/export", data={"csrf_token": csrf(web)})
    assert api.get("/api/v1/users/me/exports").json()
    # wrong password: nothing happens
    web.post("/settings/account/delete", data={"csrf_token": csrf(web), "password": "nope"})
    assert api.get("/api/v1/users/me").json()["status"] == "active"
    r = web.post("/settings/account/delete", data={"csrf_token": csrf(web), "password": api.password})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "smile_session" in r.headers.get("set-cookie", "")
    assert web.get("/settings/account").status_code == 303  # signed out: back to the login page
    assert api.get("/api/v1/users/me").status_code == 401


def test_public_profile_page_escapes_content(signup, client, db):
    api = signup()
    db.execute("UPDATE users SET bio = %s WHERE id = %s", ("<script>alert(1)</script>", api.user["id"]))
    r = client.get(f"/u/{api.user['username']}", headers={"accept": "text/html"})
    assert r.status_code == 200
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;" in r.text
