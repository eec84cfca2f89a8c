"""Profile, avatar, public profiles, email lookup and age verification over real HTTP."""

from __future__ import annotations

import datetime as dt
import io
import time

import httpx
import pytest
from PIL import Image


def png(width: int = 600, height: int = 300, color: str = "green") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def fetch_image(client, url: str) -> Image.Image:
    r = client.get(url)
    assert r.status_code == 200, r.text
    image = Image.open(io.BytesIO(r.content))
    image.load()
    return image


def test_me_and_patch_profile(signup):
    api = signup()
    assert api.user["email"] == api.email and api.user["timezone"] == "UTC"
    r = api.patch(
        "/api/v1/users/me",
        json={
            "display_name": "Ada L.",
            "bio": "Engineer.\nLoves maths.",
            "links": ["https://ada.example/", "http://x.io"],
            "location": "London",
            "language": "pt-BR",
            "timezone": "Europe/London",
            "is_private": True,
            "who_can_message": "followers",
            "discoverable_by_email": True,
        },
    )
    assert r.status_code == 200, r.text
    me = api.get("/api/v1/users/me").json()
    assert (me["display_name"], me["bio"], me["location"]) == ("Ada L.", "Engineer.\nLoves maths.", "London")
    assert me["links"] == ["https://ada.example/", "http://x.io"]
    assert (me["language"], me["timezone"], me["who_can_message"]) == ("pt-BR", "Europe/London", "followers")
    assert me["is_private"] is True and me["discoverable_by_email"] is True
    # omitted fields stay as they are
    r = api.patch("/api/v1/users/me", json={"location": ""})
    assert r.json()["location"] == "" and r.json()["bio"] == "Engineer.\nLoves maths."


def test_html_is_stripped_from_text_fields(signup):
    api = signup()
    r = api.patch(
        "/api/v1/users/me",
        json={
            "bio": "<b>Hello</b> <script>alert(1)</script>world &lt;i&gt;x&lt;/i&gt; a < b",
            "display_name": "<img src=x onerror=alert(1)>Eve",
            "location": "<a href='//evil'>Paris</a>",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["bio"] == "Hello world x a < b"
    assert body["display_name"] == "Eve" and body["location"] == "Paris"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"bio": "x" * 501}, "bio"),
        ({"links": ["javascript:alert(1)"]}, "links"),
        ({"links": ["ftp://files.example"]}, "links"),
        ({"links": [f"https://e{i}.example" for i in range(6)]}, "links"),
        ({"language": "english!"}, "language"),
        ({"language": "en\n"}, "language"),
        ({"who_can_message": "friends"}, "who_can_message"),
        ({"display_name": "   "}, "display_name"),
        ({"nickname": "sneaky"}, "nickname"),
        ({"email": "takeover@example.com"}, "email"),
    ],
)
def test_patch_validation(signup, payload, field):
    api = signup()
    r = api.patch("/api/v1/users/me", json=payload)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid" and field in r.json()["fields"]
    assert api.get("/api/v1/users/me").json()["email"] == api.email


def test_me_requires_auth(client):
    assert client.get("/api/v1/users/me").status_code == 401
    assert client.patch("/api/v1/users/me", json={"bio": "x"}).status_code == 401


def test_avatar_png_resized_and_replaced(signup, client, settings):
    api = signup()
    r = api.request("PUT", "/api/v1/users/me/avatar", files={"file": ("me.png", png(), "image/png")})
    assert r.status_code == 200, r.text
    first = r.json()["avatar_url"]
    assert first.startswith(f"/media/avatars/{api.user['id']}/") and first.endswith(".webp")
    image = fetch_image(client, first)
    assert image.size == (256, 256) and image.format == "WEBP"
    assert image.convert("RGB").getpixel((128, 128))[1] > 100  # still green
    # a new upload replaces the file; the old one disappears once the change commits
    r = api.request("PUT", "/api/v1/users/me/avatar", files={"file": ("x.bin", png(40, 40, "red"), "text/plain")})
    assert r.status_code == 200, r.text
    assert r.json()["avatar_url"] != first
    _wait_gone(settings.media_dir / first.removeprefix("/media/"))
    assert client.get(first).status_code == 404
    # removal
    r = api.delete("/api/v1/users/me/avatar")
    assert r.status_code == 200 and r.json()["avatar_url"] is None


def _wait_gone(path) -> None:
    deadline = time.monotonic() + 15
    while path.exists():
        assert time.monotonic() < deadline, f"{path} was not deleted"
        time.sleep(0.05)


def test_avatar_jpeg_exif_orientation(signup, client):
    """A landscape photo tagged "rotate 90° clockwise" is stored upright: left half ends on top."""
    api = signup()
    image = Image.new("RGB", (200, 100), "blue")
    image.paste((255, 0, 0), (0, 0, 100, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=95)
    r = api.request("PUT", "/api/v1/users/me/avatar", files={"file": ("photo.jpg", out.getvalue(), "image/jpeg")})
    assert r.status_code == 200, r.text
    stored = fetch_image(client, r.json()["avatar_url"]).convert("RGB")
    assert stored.size == (256, 256)
    top, bottom = stored.getpixel((128, 30)), stored.getpixel((128, 226))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_avatar_refuses_non_images_and_large_files(signup):
    api = signup()
    r = api.request(
        "PUT", "/api/v1/users/me/avatar", files={"file": ("evil.png", b"<?php echo 'hi'; ?> not an image", "image/png")}
    )
    assert r.status_code == 415, r.text
    assert "JPEG, PNG, WebP or GIF" in r.json()["detail"]
    bmp = io.BytesIO()
    Image.new("RGB", (10, 10)).save(bmp, "BMP")
    r = api.request("PUT", "/api/v1/users/me/avatar", files={"file": ("a.png", bmp.getvalue(), "image/png")})
    assert r.status_code == 415, r.text
    r = api.request(
        "PUT",
        "/api/v1/users/me/avatar",
        files={"file": ("big.png", png()[:200] + b"\0" * (5 * 1024 * 1024), "image/png")},
    )
    assert r.status_code == 413, r.text
    assert "5 MB" in r.json()["detail"]
    assert api.get("/api/v1/users/me").json()["avatar_url"] is None


def test_public_profile_hides_private_fields_and_gone_accounts(signup, client, db):
    alice = signup()
    alice.patch("/api/v1/users/me", json={"bio": "Hi", "timezone": "Europe/Paris"})
    r = client.get(f"/api/v1/users/{alice.user['username'].upper()}")
    assert r.status_code == 200, r.text
    card = r.json()
    assert card["username"] == alice.user["username"] and card["bio"] == "Hi" and card["is_ai"] is False
    assert "email" not in card and "timezone" not in card and "date_of_birth" not in card
    assert client.get("/api/v1/users/nobody_here").status_code == 404
    for status in ("suspended", "deleted", "deleting"):
        db.execute("UPDATE users SET status = %s WHERE id = %s", (status, alice.user["id"]))
        assert client.get(f"/api/v1/users/{alice.user['username']}").status_code == 404, status


def test_public_profile_page(signup, client, db):
    bot = signup()
    bot.patch("/api/v1/users/me", json={"bio": "I answer questions.", "links": ["https://bot.example/docs"]})
    db.execute("UPDATE users SET account_type = 'ai_agent' WHERE id = %s", (bot.user["id"],))
    r = client.get(f"/u/{bot.user['username']}", headers={"accept": "text/html"})
    assert r.status_code == 200
    assert "🤖" in r.text and "I answer questions." in r.text
    assert '<a href="https://bot.example/docs" rel="nofollow ugc noopener"' in r.text
    assert client.get("/u/nobody_here", headers={"accept": "text/html"}).status_code == 404


def test_lookup_by_email_only_when_discoverable(signup, client):
    alice, bob = signup(), signup()
    assert bob.get("/api/v1/users", params={"email": alice.email}).status_code == 404
    alice.patch("/api/v1/users/me", json={"discoverable_by_email": True})
    r = bob.get("/api/v1/users", params={"email": alice.email.upper()})
    assert r.status_code == 200 and r.json()["id"] == alice.user["id"] and "email" not in r.json()
    assert client.get("/api/v1/users", params={"email": alice.email}).status_code == 401
    unverified = signup(verify=False)
    assert unverified.get("/api/v1/users", params={"email": alice.email}).status_code == 403


def _years_ago(years: int, days: int = 0) -> str:
    today = dt.date.today()
    try:
        day = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        day = today.replace(year=today.year - years, day=28)
    return (day - dt.timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    "dob, status, adult",
    [
        (_years_ago(30), 200, True),
        (_years_ago(18), 200, True),
        (_years_ago(18, days=-1), 200, False),  # 18 tomorrow
        (_years_ago(15), 200, False),
        (_years_ago(13), 200, False),
    ],
)
def test_verify_age(signup, dob, status, adult):
    api = signup()
    r = api.post("/api/v1/users/verify-age", json={"date_of_birth": dob})
    assert r.status_code == status, r.text
    assert r.json()["is_adult"] is adult and r.json()["age_verified_at"]
    me = api.get("/api/v1/users/me").json()
    assert me["is_adult"] is adult and me["age_verified_at"]


def test_verify_age_refusals(signup):
    api = signup()
    r = api.post("/api/v1/users/verify-age", json={"date_of_birth": _years_ago(12)})
    assert r.status_code == 403 and "at least 13" in r.json()["detail"]
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    assert api.post("/api/v1/users/verify-age", json={"date_of_birth": tomorrow}).status_code == 422
    assert api.post("/api/v1/users/verify-age", json={"date_of_birth": _years_ago(121)}).status_code == 422
    assert api.post("/api/v1/users/verify-age", json={"date_of_birth": "not-a-date"}).status_code == 422
    assert api.get("/api/v1/users/me").json()["age_verified_at"] is None
    # once verified, a different date of birth cannot be claimed
    assert api.post("/api/v1/users/verify-age", json={"date_of_birth": _years_ago(16)}).status_code == 200
    r = api.post("/api/v1/users/verify-age", json={"date_of_birth": _years_ago(20)})
    assert r.status_code == 409
    assert api.get("/api/v1/users/me").json()["is_adult"] is False


def test_settings_pages_need_login(client):
    r = client.get("/settings/profile", headers={"accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_media_url_serves_stored_avatar(signup, server):
    api = signup()
    r = api.request("PUT", "/api/v1/users/me/avatar", files={"file": ("a.gif", _gif(), "image/gif")})
    assert r.status_code == 200, r.text
    assert httpx.get(server.url + r.json()["avatar_url"]).headers["content-type"] == "image/webp"


def _gif() -> bytes:
    out = io.BytesIO()
    frames = [Image.new("P", (64, 64), i) for i in (1, 2)]
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    return out.getvalue()
