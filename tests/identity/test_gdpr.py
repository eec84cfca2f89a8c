"""GDPR: data export archives with expiring links, account deletion, grace period and erasure."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import uuid
import zipfile
from urllib.parse import urlparse

from PIL import Image

from smile.identity.profile import gdpr, tasks
from smile.kit import runtime


def wait_for(check, timeout: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return result


def ready_export(api) -> dict:
    def ready():
        exports = api.get("/api/v1/users/me/exports").json()
        return exports[0] if exports and exports[0]["status"] == "ready" else None

    return wait_for(ready, what="export to be ready")


def link_path(mailbox, email: str) -> str:
    link = mailbox.link(email, "data export")
    assert link.startswith("http://testserver.local/api/v1/exports/")  # settings.base_url
    return urlparse(link).path


def read_archive(content: bytes) -> tuple[dict, list[str]]:
    archive = zipfile.ZipFile(io.BytesIO(content))
    return json.loads(archive.read("data.json")), archive.namelist()


def test_export_archive_by_emailed_link(signup, client, mailbox):
    api = signup()
    api.patch("/api/v1/users/me", json={"bio": "Export me", "location": "Lisbon"})
    png = io.BytesIO()
    Image.new("RGB", (64, 64), "purple").save(png, "PNG")
    api.request("PUT", "/api/v1/users/me/avatar", files={"file": ("a.png", png.getvalue(), "image/png")})
    r = api.post("/api/v1/users/me/export")
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending" and r.json()["download_url"] is None
    export = ready_export(api)
    assert export["id"] == r.json()["id"] and export["size"] > 0 and export["expires_at"]
    path = link_path(mailbox, api.email)
    download = client.get(path)  # no credentials: the token is the secret
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["content-disposition"].startswith("attachment;")
    data, names = read_archive(download.content)
    assert "avatar.webp" in names
    profile = data["profile"]
    assert (profile["id"], profile["username"], profile["email"]) == (api.user["id"], api.user["username"], api.email)
    assert profile["bio"] == "Export me" and profile["location"] == "Lisbon"
    assert "password_hash" not in profile and "totp_secret" not in profile
    assert data["sessions"] and all("cookie_hash" not in s for s in data["sessions"])
    assert any("verification" in e["subject"].lower() or "code" in e["subject"].lower() for e in data["emails"])
    # the signed-in download of the same archive
    mine = api.get(export["download_url"])
    assert mine.status_code == 200 and read_archive(mine.content)[0]["profile"]["id"] == api.user["id"]
    # a later archive lists the earlier email without its still-working link
    assert api.post("/api/v1/users/me/export").status_code == 202
    wait_for(lambda: api.get("/api/v1/users/me/exports").json()[0]["status"] == "ready", what="second export")
    second, _ = read_archive(api.get(api.get("/api/v1/users/me/exports").json()[0]["download_url"]).content)
    token = path.rsplit("/", 1)[1]
    assert "/exports/[redacted]" in json.dumps(second["emails"]) and token not in json.dumps(second)


def test_export_token_is_the_only_key(signup, mailbox):
    alice, bob = signup(), signup()
    alice.post("/api/v1/users/me/export")
    alice_export = ready_export(alice)
    path = link_path(mailbox, alice.email)
    # Bob holding Alice's link gets Alice's archive (the link is the secret), never his own data
    data, _ = read_archive(bob.get(path).content)
    assert data["profile"]["id"] == alice.user["id"] and bob.email not in json.dumps(data)
    # but Bob cannot reach Alice's export through his own account
    assert bob.get("/api/v1/users/me/exports").json() == []
    assert bob.get(f"/api/v1/users/me/exports/{alice_export['id']}/download").status_code == 404
    assert bob.get("/api/v1/exports/not-a-real-token").status_code == 404


def test_export_link_expires(signup, client, mailbox, db, server, settings):
    api = signup()
    api.post("/api/v1/users/me/export")
    export = ready_export(api)
    path = link_path(mailbox, api.email)
    assert client.get(path).status_code == 200
    db.execute("UPDATE data_exports SET expires_at = now() - interval '1 minute' WHERE id = %s", (export["id"],))
    r = client.get(path)
    assert r.status_code == 410 and "expired" in r.json()["detail"]
    assert api.get("/api/v1/users/me/exports").json()[0]["status"] == "expired"
    file_key = db.execute("SELECT file_key FROM data_exports WHERE id = %s", (export["id"],)).fetchone()[0]
    archive = settings.data_dir / "exports" / file_key
    assert archive.exists() and settings.media_dir not in archive.parents
    # the periodic job deletes the file
    server.call(tasks.purge_exports.defer_async(timestamp=int(time.time())))
    wait_for(lambda: not archive.exists(), what="expired archive to be deleted")
    wait_for(
        lambda: db.execute("SELECT status FROM data_exports WHERE id = %s", (export["id"],)).fetchone()[0] == "expired",
        what="status expired",
    )
    assert client.get(path).status_code == 410


def test_one_pending_export_at_a_time(signup, db):
    api = signup()
    db.execute(
        "INSERT INTO data_exports (id, user_id, status) VALUES (%s, %s, 'pending')", (uuid.uuid4(), api.user["id"])
    )
    r = api.post("/api/v1/users/me/export")
    assert r.status_code == 409 and "already" in r.json()["detail"]
    assert len(api.get("/api/v1/users/me/exports").json()) == 1


def test_delete_account_requires_password_and_signs_out(signup, make_client, mailbox, settings):
    api = signup()
    assert api.delete("/api/v1/users/me", json={}).status_code == 422
    r = api.delete("/api/v1/users/me", json={"password": "Wrong-Password-1"})
    assert r.status_code == 422 and "password" in r.json()["fields"]
    assert api.get("/api/v1/users/me").json()["status"] == "active"
    r = api.delete("/api/v1/users/me", json={"password": api.password})
    assert r.status_code == 202, r.text
    erase_after = dt.datetime.fromisoformat(r.json()["erase_after"])
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(days=settings.account_deletion_grace_days)
    assert abs((erase_after - expected).total_seconds()) < 60
    assert "deleted" in mailbox.wait(api.email, "will be deleted")["subject"]
    # every session is over: the old access token and refresh token stop working
    assert api.get("/api/v1/users/me").status_code == 401
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": api.refresh}).status_code == 401
    # during the grace period the owner can sign in and cancel
    again = make_client()
    r = again.post("/api/v1/auth/login", json={"login": api.email, "password": api.password})
    assert r.status_code == 200, r.text
    again.access = r.json()["access_token"]
    assert again.get("/api/v1/users/me").json()["status"] == "deleting"
    r = again.post("/api/v1/users/me/deletion/cancel")
    assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["deletion_requested_at"] is None
    assert again.post("/api/v1/users/me/deletion/cancel").status_code == 409


def test_oauth_only_account_confirms_with_delete(signup, db):
    api = signup()
    db.execute("UPDATE users SET password_hash = NULL WHERE id = %s", (api.user["id"],))
    assert api.delete("/api/v1/users/me", json={"confirm": "yes"}).status_code == 422
    assert api.delete("/api/v1/users/me", json={"confirm": "DELETE"}).status_code == 202


def _seed_personal_data(db, user_id: str, email: str) -> None:
    db.execute(
        "INSERT INTO oauth_identities (id, user_id, provider, subject, email) VALUES (%s, %s, 'google', %s, %s)",
        (uuid.uuid4(), user_id, f"sub-{user_id}", email),
    )
    db.execute("INSERT INTO mfa_recovery_codes (id, user_id, code_hash) VALUES (%s, %s, 'x')", (uuid.uuid4(), user_id))
    db.execute(
        "INSERT INTO audit_log (id, action, target_type, target_id, detail, ip) "
        "VALUES (%s, 'admin.note', 'user', %s, %s, '203.0.113.9')",
        (uuid.uuid4(), user_id, json.dumps({"email": email, "note": f"contacted {email.upper()}", "n": 1})),
    )


def test_erasure_after_grace_anonymizes_and_keeps_the_row(signup, db, server, client, settings):
    alice, bob = signup(), signup()
    alice.patch("/api/v1/users/me", json={"bio": "secret bio", "links": ["https://alice.example"]})
    png = io.BytesIO()
    Image.new("RGB", (40, 40), "red").save(png, "PNG")
    avatar = alice.request(
        "PUT", "/api/v1/users/me/avatar", files={"file": ("a.png", png.getvalue(), "image/png")}
    ).json()["avatar_url"]
    alice.post("/api/v1/users/verify-age", json={"date_of_birth": "1990-05-01"})
    alice.post("/api/v1/users/me/export")
    ready_export(alice)
    _seed_personal_data(db, alice.user["id"], alice.email)
    uid, username = alice.user["id"], alice.user["username"]
    assert alice.delete("/api/v1/users/me", json={"password": alice.password}).status_code == 202
    # not due yet: the job leaves it alone
    assert server.call(_run(gdpr.erase_due_accounts)) == 0
    db.execute(
        "UPDATE users SET deletion_requested_at = now() - make_interval(days => %s + 1) WHERE id = %s",
        (settings.account_deletion_grace_days, uid),
    )
    server.call(tasks.erase_due_accounts.defer_async(timestamp=int(time.time())))
    wait_for(
        lambda: db.execute("SELECT status FROM users WHERE id = %s", (uid,)).fetchone()[0] == "deleted",
        what="the erasure job",
    )
    row = db.execute(
        "SELECT email, username, display_name, bio, links, avatar_key, date_of_birth, password_hash, "
        "deleted_at FROM users WHERE id = %s",
        (uid,),
    ).fetchone()
    assert row[0] == f"deleted-{uid}@invalid" and row[1].startswith("deleted_") and row[2] == "Deleted user"
    assert row[3:8] == ("", [], None, None, None) and row[8] is not None
    for table in (
        "oauth_identities",
        "auth_sessions",
        "mfa_recovery_codes",
        "email_codes",
        "password_resets",
        "data_exports",
    ):
        assert db.execute(f"SELECT count(*) FROM {table} WHERE user_id = %s", (uid,)).fetchone()[0] == 0, table
    assert db.execute('SELECT count(*) FROM emails WHERE lower("to") = lower(%s)', (alice.email,)).fetchone()[0] == 0
    audit = db.execute("SELECT detail::text, ip FROM audit_log WHERE target_id = %s", (uid,)).fetchall()
    assert len(audit) >= 3  # entries kept, ids intact
    assert all(alice.email.lower() not in d.lower() and ip == "" for d, ip in audit)
    assert not (settings.media_dir / avatar.removeprefix("/media/")).exists()
    assert not list((settings.data_dir / "exports").glob(f"{uid}/*.zip"))
    assert client.get(f"/api/v1/users/{username}").status_code == 404
    r = client.post("/api/v1/auth/login", json={"login": alice.email, "password": alice.password})
    assert (r.status_code, r.json()["error"]) == (401, "invalid_credentials")  # no such account any more
    # Bob is untouched
    assert bob.get("/api/v1/users/me").json()["email"] == bob.email


def test_erasure_is_idempotent(signup, db, server):
    api = signup()
    uid = uuid.UUID(api.user["id"])
    assert server.call(_run(gdpr.erase_account, uid)) is True
    first = db.execute("SELECT email, username, deleted_at FROM users WHERE id = %s", (uid,)).fetchone()
    assert server.call(_run(gdpr.erase_account, uid)) is False
    assert server.call(_run(gdpr.erase_account, uuid.uuid4())) is False
    assert db.execute("SELECT email, username, deleted_at FROM users WHERE id = %s", (uid,)).fetchone() == first
    assert db.execute("SELECT count(*) FROM users WHERE id = %s", (uid,)).fetchone()[0] == 1


async def _run(fn, *args):
    async with runtime.current().db.session() as session:
        return await fn(session, *args)
