"""Two-factor authentication over real HTTP: enrolment, login step, recovery codes, lockout, admins."""

from __future__ import annotations

import re
import time

import pyotp

from tests.support import STRONG_PASSWORD, Api, Authenticator, enable_mfa


def mfa_status(api: Api) -> dict:
    r = api.get("/api/v1/auth/mfa")
    assert r.status_code == 200, r.text
    return r.json()


def password_login(make_client, username: str) -> tuple[Api, str]:
    """The first login step for an MFA account: returns a fresh client and the challenge token."""
    api = make_client()
    r = api.post("/api/v1/auth/login", json={"login": username, "password": STRONG_PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mfa_required"] is True and "access_token" not in body
    return api, body["mfa_token"]


def finish_login(api: Api, mfa_token: str, code: str) -> None:
    r = api.post("/api/v1/auth/login/mfa", json={"mfa_token": mfa_token, "code": code})
    assert r.status_code == 200, r.text
    api.access = r.json()["access_token"]


def wrong_code(device: Authenticator) -> str:
    """A 6-digit code the server will not accept now."""
    valid = {device.totp.at(time.time() + 30 * k) for k in (-2, -1, 0, 1, 2)}
    return next(c for c in ("123456", "654321", "111111") if c not in valid)


def make_admin(db, api: Api) -> None:
    db.execute("UPDATE users SET roles = array_append(roles, 'admin') WHERE id = %s", (api.user["id"],))


def test_setup_gives_secret_uri_and_qr_code(signup, db):
    api = signup()
    r = api.post("/api/v1/auth/mfa/setup")
    assert r.status_code == 200
    body = r.json()
    assert pyotp.TOTP(body["secret"]).provisioning_uri(name=api.email, issuer_name="smile") == body["otpauth_uri"]
    assert body["qr_svg"].startswith("<svg") and "<path" in body["qr_svg"]
    assert mfa_status(api)["setup_pending"] is True and mfa_status(api)["enabled"] is False
    stored = db.execute(
        "SELECT totp_pending_secret, totp_secret FROM users WHERE id = %s", (api.user["id"],)
    ).fetchone()
    assert stored[0] and body["secret"] not in stored[0] and stored[1] is None  # encrypted at rest
    # enrolment is not active until confirmed: password login still needs no code
    r = api.post("/api/v1/auth/login", json={"login": api.user["username"], "password": STRONG_PASSWORD})
    assert "access_token" in r.json()


def test_enable_needs_a_right_code_and_returns_recovery_codes_once(signup, db, mailbox):
    api = signup()
    enable = {"password": STRONG_PASSWORD}
    assert api.post("/api/v1/auth/mfa/enable", json={**enable, "code": "123456"}).json()["error"] == "mfa_setup_missing"
    device = Authenticator(api.post("/api/v1/auth/mfa/setup").json()["secret"])
    r = api.post("/api/v1/auth/mfa/enable", json={**enable, "code": wrong_code(device)})
    assert r.status_code == 422 and r.json()["error"] == "mfa_code_invalid"
    r = api.post("/api/v1/auth/mfa/enable", json={**enable, "code": device.code()})
    assert r.status_code == 200
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10 == len(set(codes)) and all(re.fullmatch(r"[a-z0-9]{5}-[a-z0-9]{5}", c) for c in codes)
    status = mfa_status(api)
    assert status == {
        "enabled": True,
        "setup_pending": False,
        "recovery_codes_left": 10,
        "session_verified": False,
        "required": False,
    }
    hashes = [
        h for (h,) in db.execute("SELECT code_hash FROM mfa_recovery_codes WHERE user_id = %s", (api.user["id"],))
    ]
    assert len(hashes) == 10 and not set(hashes) & set(codes)
    assert api.get("/api/v1/users/me").json()["mfa_enabled"] is True
    assert api.post("/api/v1/auth/mfa/setup").status_code == 409
    assert "turned on" in mailbox.wait(api.email, "Two-factor")["body"]


def test_enable_needs_the_password_and_is_no_fresh_two_factor_check(signup, db, mailbox):
    """A stolen access token cannot turn two-factor on (locking the owner out) nor pass recent-check guards."""
    api = signup()
    make_admin(db, api)  # admin tools need a session verified with a code
    device = Authenticator(api.post("/api/v1/auth/mfa/setup").json()["secret"])
    code = device.code()
    r = api.post("/api/v1/auth/mfa/enable", json={"code": code})
    assert r.status_code == 422 and r.json()["error"] == "password_required" and "password" in r.json()["fields"]
    r = api.post("/api/v1/auth/mfa/enable", json={"password": "Not-The-Password-1", "code": code})
    assert r.status_code == 422 and r.json()["error"] == "wrong_password"
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'mfa.password_failed'").fetchone() == (1,)
    assert mfa_status(api)["enabled"] is False
    r = api.post("/api/v1/auth/mfa/enable", json={"password": STRONG_PASSWORD, "code": code})
    assert r.status_code == 200
    assert mfa_status(api)["session_verified"] is False
    r = api.get("/api/v1/admin/users")
    assert r.status_code == 403 and r.json()["error"] == "mfa_required"
    mail = mailbox.wait(api.email, "Two-factor authentication is on")
    assert "Two-factor authentication was turned on" in mail["body"]
    assert api.post("/api/v1/auth/mfa/confirm", json={"code": device.code()}).status_code == 200
    assert api.get("/api/v1/admin/users").status_code == 200


def test_login_requires_the_second_step_and_totp_is_not_replayable(signup, make_client, db):
    owner = signup()
    device, _ = enable_mfa(owner)
    api, token = password_login(make_client, owner.user["username"])
    assert api.post("/api/v1/auth/login/mfa", json={"mfa_token": "forged", "code": "123456"}).status_code == 401
    code = device.code()
    finish_login(api, token, code)
    assert api.get("/api/v1/users/me").json()["id"] == owner.user["id"]
    assert mfa_status(api)["session_verified"] is True
    # the same code cannot be used a second time
    replay, token2 = password_login(make_client, owner.user["username"])
    r = replay.post("/api/v1/auth/login/mfa", json={"mfa_token": token2, "code": code})
    assert r.status_code == 422
    audited = db.execute(
        "SELECT count(*) FILTER (WHERE action = 'auth.login' AND detail->>'mfa' = 'true'), "
        "count(*) FILTER (WHERE action = 'mfa.code_failed') FROM audit_log"
    ).fetchone()
    assert audited == (1, 1)


def test_recovery_code_signs_in_once(signup, make_client):
    owner = signup()
    _, codes = enable_mfa(owner)
    api, token = password_login(make_client, owner.user["username"])
    finish_login(api, token, codes[3].upper().replace("-", " "))  # typed loosely
    assert mfa_status(api)["recovery_codes_left"] == 9
    again, token = password_login(make_client, owner.user["username"])
    r = again.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": codes[3]})
    assert r.status_code == 422 and r.json()["error"] == "mfa_code_invalid"


def test_wrong_codes_are_counted_then_locked_out(signup, make_client, settings, db):
    owner = signup()
    device, _ = enable_mfa(owner, verify=False)
    api, token = password_login(make_client, owner.user["username"])
    wrong = wrong_code(device)
    for _ in range(settings.lockout_failures):
        r = api.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": wrong})
        assert r.status_code == 422
    r = api.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": device.code()})
    assert r.status_code == 429 and r.json()["error"] == "locked_out"
    assert int(r.headers["retry-after"]) > 0 and "Too many wrong two-factor codes" in r.json()["detail"]
    # the lockout is per account: the other endpoints taking codes refuse too
    assert owner.post("/api/v1/auth/mfa/confirm", json={"code": device.code()}).status_code == 429
    failed = db.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'mfa.code_failed' AND target_id = %s", (owner.user["id"],)
    ).fetchone()[0]
    assert failed == settings.lockout_failures


def test_confirm_refreshes_recent_mfa(signup, db):
    api = signup()
    device, _ = enable_mfa(api)
    db.execute("UPDATE auth_sessions SET mfa_at = now() - interval '2 hours' WHERE user_id = %s", (api.user["id"],))
    assert api.post("/api/v1/auth/mfa/confirm", json={"code": "12345"}).status_code == 422
    old = db.execute(
        "SELECT max(mfa_at) < now() - interval '1 hour' FROM auth_sessions WHERE user_id = %s", (api.user["id"],)
    ).fetchone()[0]
    assert old is True
    r = api.post("/api/v1/auth/mfa/confirm", json={"code": device.code()})
    assert r.status_code == 200
    recent = db.execute(
        "SELECT max(mfa_at) > now() - interval '1 minute' FROM auth_sessions WHERE user_id = %s", (api.user["id"],)
    ).fetchone()[0]
    assert recent is True


def test_confirm_without_mfa_is_refused(signup):
    api = signup()
    r = api.post("/api/v1/auth/mfa/confirm", json={"code": "123456"})
    assert r.status_code == 403 and r.json()["error"] == "mfa_enrolment_required"


def test_disable_needs_password_and_code(signup, db, mailbox):
    api = signup()
    device, _ = enable_mfa(api, verify=False)
    r = api.post("/api/v1/auth/mfa/disable", json={"password": "Wrong-Password-1", "code": device.code()})
    assert r.status_code == 422 and r.json()["error"] == "wrong_password"
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'mfa.password_failed'").fetchone()[0] == 1
    r = api.post("/api/v1/auth/mfa/disable", json={"password": STRONG_PASSWORD, "code": wrong_code(device)})
    assert r.status_code == 422
    r = api.post("/api/v1/auth/mfa/disable", json={"password": STRONG_PASSWORD, "code": device.code()})
    assert r.status_code == 200
    assert mfa_status(api)["enabled"] is False
    assert db.execute("SELECT count(*) FROM mfa_recovery_codes").fetchone()[0] == 0
    assert "turned off" in mailbox.wait(api.email, "turned off")["body"]
    r = api.post("/api/v1/auth/login", json={"login": api.user["username"], "password": STRONG_PASSWORD})
    assert "access_token" in r.json()


def test_recovery_codes_can_be_replaced(signup, make_client):
    owner = signup()
    device, old = enable_mfa(owner)
    r = owner.post("/api/v1/auth/mfa/recovery-codes", json={"code": device.code()})
    assert r.status_code == 200
    new = r.json()["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(old)
    api, token = password_login(make_client, owner.user["username"])
    assert api.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": old[0]}).status_code == 422
    finish_login(api, token, new[0])


def test_admins_cannot_disable_mfa(signup, db):
    api = signup()
    device, _ = enable_mfa(api)
    make_admin(db, api)
    assert mfa_status(api)["required"] is True
    r = api.post("/api/v1/auth/mfa/disable", json={"password": STRONG_PASSWORD, "code": device.code()})
    assert r.status_code == 403 and "Admins must keep two-factor" in r.json()["detail"]
    assert mfa_status(api)["enabled"] is True


def test_admin_tools_need_enrolment_and_an_mfa_session(signup, make_client, db):
    admin = signup()
    make_admin(db, admin)
    r = admin.get("/api/v1/admin/users")
    assert r.status_code == 403 and r.json()["error"] == "mfa_enrolment_required"
    device, _ = enable_mfa(admin, verify=False)  # enabling does not verify this session
    r = admin.get("/api/v1/admin/users")
    assert r.status_code == 403 and r.json()["error"] == "mfa_required"
    assert admin.post("/api/v1/auth/mfa/confirm", json={"code": device.code()}).status_code == 200
    assert admin.get("/api/v1/admin/users").status_code == 200
    # a fresh sign-in through the code step works directly
    api, token = password_login(make_client, admin.user["username"])
    finish_login(api, token, device.code())
    assert api.get("/api/v1/admin/users").status_code == 200


def test_security_page_enrolment_flow(signup, make_client):
    owner = signup()
    browser = make_client()
    browser.get("/login", headers={"Accept": "text/html"})
    csrf = browser.http.cookies["smile_csrf"]
    r = browser.post("/login", data={"login": owner.user["username"], "password": STRONG_PASSWORD, "csrf_token": csrf})
    assert r.status_code == 303
    page = browser.get("/settings/security").text
    assert "Set up two-factor authentication" in page
    assert browser.post("/settings/security/mfa/setup", data={}).status_code == 403  # no CSRF token
    r = browser.post("/settings/security/mfa/setup", data={"csrf_token": csrf})
    assert r.status_code == 303
    page = browser.get("/settings/security").text
    assert "<svg" in page
    secret = re.search(r'class="mfa-secret">([A-Z2-7]+)<', page).group(1)
    device = Authenticator(secret)
    assert 'name="password" autocomplete="current-password"' in page
    form = {"csrf_token": csrf, "password": STRONG_PASSWORD}
    r = browser.post("/settings/security/mfa/enable", data={**form, "code": "12345"})
    assert r.status_code == 303 and "not match" in browser.get("/settings/security").text
    r = browser.post("/settings/security/mfa/enable", data={"csrf_token": csrf, "code": device.code()})
    assert r.status_code == 303 and "Enter your password" in browser.get("/settings/security").text
    r = browser.post("/settings/security/mfa/enable", data={**form, "code": device.code()})
    assert r.status_code == 200 and "shown only now" in r.text
    assert len(re.findall(r"<code>[a-z0-9]{5}-[a-z0-9]{5}</code>", r.text)) == 10
    page = browser.get("/settings/security").text
    assert "10 of 10 recovery codes left" in page and "Turn off two-factor authentication" in page
    assert mfa_status(owner)["enabled"] is True


def test_security_page_tells_admins_mfa_is_required(signup, db):
    api = signup()
    make_admin(db, api)
    browser = api  # bearer-authenticated HTML request
    page = browser.get("/settings/security", headers={"Accept": "text/html"}).text
    assert "Admins must turn on two-factor authentication" in page
    enable_mfa(api)
    page = browser.get("/settings/security", headers={"Accept": "text/html"}).text
    assert "As an admin you must keep two-factor authentication on" in page
    assert "Turn off two-factor authentication" not in page


def test_security_page_needs_login(client):
    r = client.get("/settings/security", headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
