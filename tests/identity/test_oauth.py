"""OIDC sign-in, sign-up, linking and unlinking against a real OIDC provider on loopback.

The provider is oidc-provider-mock (a real Authlib-based authorization server) in a thread; the
browser is an httpx client following the redirects by hand and submitting the provider's
authorization form with the `sub` of the account to sign in as.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oidc_provider_mock import run_server_in_thread

from tests.support import STRONG_PASSWORD, Api, enable_mfa, free_port


@pytest.fixture(scope="module")
def oidc():
    with run_server_in_thread() as srv:
        yield f"http://localhost:{srv.server_port}"


@pytest.fixture
def providers(settings, oidc):
    """Point the live server at the provider under two names, and restore the settings after."""
    before = settings.oidc_providers
    settings.oidc_providers = f"mock|{oidc}|smile-client|s3cret;other|{oidc}|other-client|s3cret2"
    yield oidc
    settings.oidc_providers = before


def provider_user(oidc: str, email: str | None = None, verified: bool = True, name: str = "Ada Lovelace") -> str:
    """Create an account at the provider; returns its subject."""
    sub = f"sub-{uuid.uuid4().hex[:12]}"
    claims = {"name": name, "email_verified": verified}
    if email:
        claims["email"] = email
    r = httpx.put(f"{oidc}/users/{sub}", json=claims)
    assert r.status_code == 204, r.text
    return sub


def oauth_flow(
    browser: Api, sub: str, provider: str = "mock", start: httpx.Response | None = None, next: str | None = None
) -> httpx.Response:
    """Start at smile, authorize at the provider as `sub`, and return smile's callback response."""
    if start is None:
        start = browser.get(f"/auth/oauth/{provider}/login", params={"next": next} if next else None)
    assert start.status_code == 302, start.text
    authorize = start.headers["location"]
    assert authorize.startswith("http://localhost:")
    query = parse_qs(urlsplit(authorize).query)
    assert query["scope"] == ["openid email profile"] and query["response_type"] == ["code"]
    consent = httpx.post(authorize, data={"sub": sub})
    assert consent.status_code == 302, consent.text
    callback = consent.headers["location"]
    assert urlsplit(callback).path == f"/auth/oauth/{provider}/callback"
    return browser.get(callback)


def me(browser: Api) -> dict:
    r = browser.get("/api/v1/users/me")
    assert r.status_code == 200, r.text
    return r.json()


def csrf(browser: Api) -> dict:
    """The CSRF header for cookie-authenticated API calls (the cookie is set by any page)."""
    browser.get("/settings/security", headers={"Accept": "text/html"})
    return {"X-CSRF-Token": browser.http.cookies["smile_csrf"]}


def login_page(browser: Api, login: str, password: str = STRONG_PASSWORD) -> None:
    """Sign in through the HTML login form to get a browser session cookie."""
    browser.get("/login", headers={"Accept": "text/html"})
    r = browser.post(
        "/login", data={"login": login, "password": password, "csrf_token": browser.http.cookies["smile_csrf"]}
    )
    assert r.status_code == 303, r.text
    assert "smile_session" in browser.http.cookies


def test_new_account_via_oidc_then_same_account_next_time(providers, make_client, db):
    sub = provider_user(providers, "ada@example.org")
    browser = make_client()
    r = oauth_flow(browser, sub, next="/settings/security")
    assert r.status_code == 303 and r.headers["location"] == "/settings/security"
    user = me(browser)
    assert user["email"] == "ada@example.org" and user["email_verified"] is True
    assert user["username"] == "ada" and user["display_name"] == "Ada Lovelace"
    row = db.execute("SELECT password_hash, terms_accepted_at FROM users WHERE id = %s", (user["id"],)).fetchone()
    assert row[0] is None and row[1] is not None
    ids = browser.get("/api/v1/auth/oauth/identities").json()
    assert [(i["provider"], i["email"]) for i in ids] == [("mock", "ada@example.org")]

    again = make_client()
    assert oauth_flow(again, sub).status_code == 303
    assert me(again)["id"] == user["id"]
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 1
    logins = db.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'auth.login' AND detail->>'via' = 'oauth' AND target_id = %s",
        (user["id"],),
    ).fetchone()[0]
    assert logins == 2
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'oauth.signup'").fetchone()[0] == 1


def test_unverified_provider_email_creates_no_account(providers, make_client, signup, db):
    sub = provider_user(providers, "grace@example.org", verified=False, name="Grace")
    browser = make_client()
    r = oauth_flow(browser, sub)
    assert r.status_code == 422 and "has not verified the email address grace@example.org" in r.text
    assert "smile_session" not in browser.http.cookies
    assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)
    # nor is the address's existing account offered for linking
    signup("grace", email="grace@example.org")
    r = oauth_flow(make_client(), sub)
    assert r.status_code == 422 and "has not verified" in r.text
    assert db.execute("SELECT count(*) FROM oauth_identities").fetchone() == (0,)


def link_flow(browser: Api, sub: str, provider: str = "mock") -> httpx.Response:
    """Link `sub` to the account signed in on `browser` (a login_page session)."""
    start = browser.post(
        f"/auth/oauth/{provider}/login?link=1", data={"csrf_token": browser.http.cookies["smile_csrf"]}
    )
    return oauth_flow(browser, sub, provider=provider, start=start)


def test_unverified_provider_email_is_not_linked(providers, make_client, signup, db):
    signup("gus", email="gus@example.org")
    browser = make_client()
    login_page(browser, "gus")
    r = link_flow(browser, provider_user(providers, "gus@example.org", verified=False))
    assert r.status_code == 422 and "has not verified the email address gus@example.org" in r.text
    assert db.execute("SELECT count(*) FROM oauth_identities").fetchone() == (0,)


def test_account_with_an_unverified_address_cannot_link(providers, make_client, signup, db):
    """The pre-hijack by password: sign up with someone else's address, then link your own provider."""
    signup("hedy", email="hedy@example.org", verify=False)
    browser = make_client()
    login_page(browser, "hedy")
    r = link_flow(browser, provider_user(providers, "mallory@example.net"))
    assert r.status_code == 403 and "Verify your email address first" in r.text
    assert db.execute("SELECT count(*) FROM oauth_identities").fetchone() == (0,)


def reset_password(client: Api, mailbox, email: str) -> str:
    """Ask for a reset link, set a new password with it; returns the reset email's body."""
    assert client.post("/api/v1/auth/password-reset", json={"email": email}).status_code == 202
    mail = mailbox.wait(email, "Reset your password")
    token = parse_qs(urlsplit(mailbox.link(email, "Reset your password")).query)["token"][0]
    r = client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": "Owner-Took-It-Back-9"})
    assert r.status_code == 200, r.text
    return mail["body"]


def test_password_reset_unlinks_a_login_linked_while_the_address_was_unverified(
    providers, make_client, signup, client, mailbox, db
):
    """The attacker's account claims the owner's address and has the attacker's provider login linked (as the
    old rules allowed); the owner's password reset takes that login away and says so."""
    squatter = signup("ines", email="ines@example.org", verify=False)
    sub = provider_user(providers, "ines@example.org", verified=False)
    db.execute(
        "INSERT INTO oauth_identities (id, user_id, provider, subject, email, created_at) "
        "VALUES (gen_random_uuid(), %s, 'mock', %s, 'ines@example.org', now())",
        (squatter.user["id"], sub),
    )
    assert oauth_flow(make_client(), sub).status_code == 303  # the attacker's way in, before the reset

    body = reset_password(client, mailbox, "ines@example.org")
    assert "You can also sign in to this account with: Mock (ines@example.org)." in body
    assert "Resetting the password unlinks Mock" in body
    changed = mailbox.wait("ines@example.org", "password was changed")["body"]
    assert "We unlinked Mock from your account" in changed
    assert db.execute("SELECT count(*) FROM oauth_identities").fetchone() == (0,)
    attacker = make_client()
    r = oauth_flow(attacker, sub)
    assert r.status_code == 422 and "smile_session" not in attacker.http.cookies
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'oauth.unlinked_on_reset'").fetchone() == (1,)


def test_password_reset_keeps_logins_linked_after_verification(providers, make_client, signup, client, mailbox, db):
    owner = signup("jack", email="jack@example.org")
    browser = make_client()
    login_page(browser, "jack")
    assert link_flow(browser, provider_user(providers, "jack@example.org")).status_code == 303
    db.execute(
        "INSERT INTO oauth_identities (id, user_id, provider, subject, email, created_at) "
        "VALUES (gen_random_uuid(), %s, 'other', 'old-sub', NULL, now() - interval '1 day')",
        (owner.user["id"],),
    )  # linked the day before the address was verified

    body = reset_password(client, mailbox, "jack@example.org")
    assert "You can also sign in to this account with: Mock (jack@example.org), Other." in body
    assert "Resetting the password unlinks Other:" in body
    assert "We unlinked Other" in mailbox.wait("jack@example.org", "password was changed")["body"]
    rows = db.execute("SELECT provider FROM oauth_identities WHERE user_id = %s", (owner.user["id"],)).fetchall()
    assert rows == [("mock",)]


def test_reset_email_without_linked_logins_names_none(signup, client, mailbox):
    signup("kate", email="kate@example.org")
    body = reset_password(client, mailbox, "kate@example.org")
    assert "sign in to this account with" not in body


def test_username_is_made_unique_and_valid(providers, make_client, signup):
    signup("bob_x")
    sub = provider_user(providers, "Bob.X@example.org")
    browser = make_client()
    assert oauth_flow(browser, sub).status_code == 303
    assert me(browser)["username"] == "bob_x_2"


def test_existing_email_is_never_merged(providers, make_client, signup, db):
    owner = signup("carol", email="carol@example.org")
    sub = provider_user(providers, "carol@example.org")
    browser = make_client()
    r = oauth_flow(browser, sub)
    assert r.status_code == 409
    assert "already exists" in r.text and "Link" in r.text
    assert "smile_session" not in browser.http.cookies
    assert db.execute("SELECT count(*) FROM oauth_identities").fetchone()[0] == 0
    assert owner.get("/api/v1/auth/oauth/identities").json() == []


def test_link_from_logged_in_session_then_sign_in_with_it(providers, make_client, signup):
    owner = signup("dave", email="dave@example.org")
    sub = provider_user(providers, "dave@example.org")
    browser = make_client()
    login_page(browser, "dave")
    token = browser.http.cookies["smile_csrf"]
    start = browser.post("/auth/oauth/mock/login?link=1", data={"csrf_token": token})
    r = oauth_flow(browser, sub, start=start)
    assert r.status_code == 303 and r.headers["location"] == "/settings/security"
    ids = owner.get("/api/v1/auth/oauth/identities").json()
    assert [i["provider"] for i in ids] == ["mock"]
    page = browser.get("/settings/security", headers={"Accept": "text/html"}).text
    assert "Unlink" in page and "Link Other" in page

    fresh = make_client()
    assert oauth_flow(fresh, sub).status_code == 303
    assert me(fresh)["id"] == owner.user["id"]


def test_link_without_csrf_token_is_refused(providers, make_client, signup):
    signup("erin")
    browser = make_client()
    login_page(browser, "erin")
    r = browser.post("/auth/oauth/mock/login?link=1", data={})
    assert r.status_code == 403 and r.json()["error"] == "csrf_failed"


def test_identity_owned_by_another_user_is_409(providers, make_client, signup):
    sub = provider_user(providers, "frank@example.org")
    first = make_client()
    assert oauth_flow(first, sub).status_code == 303  # frank's account, created by the provider
    signup("gina")
    browser = make_client()
    login_page(browser, "gina")
    start = browser.post("/auth/oauth/mock/login?link=1", data={"csrf_token": browser.http.cookies["smile_csrf"]})
    r = oauth_flow(browser, sub, start=start)
    assert r.status_code == 409 and "already linked to another smile account" in r.text
    assert browser.get("/api/v1/auth/oauth/identities").json() == []


def test_unlink_refused_when_last_sign_in_method(providers, make_client):
    sub = provider_user(providers, "hal@example.org")
    browser = make_client()
    assert oauth_flow(browser, sub).status_code == 303
    headers = csrf(browser)
    r = browser.post("/api/v1/auth/oauth/mock/unlink", headers=headers)
    assert r.status_code == 409 and r.json()["error"] == "last_sign_in_method"

    # with a second provider linked, the first can go
    other = provider_user(providers, "hal@example.org")
    start = browser.post("/auth/oauth/other/login?link=1", data={"csrf_token": headers["X-CSRF-Token"]})
    assert oauth_flow(browser, other, provider="other", start=start).status_code == 303
    assert browser.post("/api/v1/auth/oauth/mock/unlink", headers=headers).status_code == 204
    assert [i["provider"] for i in browser.get("/api/v1/auth/oauth/identities").json()] == ["other"]
    assert browser.post("/api/v1/auth/oauth/mock/unlink", headers=headers).status_code == 404


def test_password_user_can_unlink_their_only_identity(providers, make_client, signup):
    owner = signup("ivy", email="ivy@example.org")
    browser = make_client()
    login_page(browser, "ivy")
    start = browser.post("/auth/oauth/mock/login?link=1", data={"csrf_token": browser.http.cookies["smile_csrf"]})
    assert oauth_flow(browser, provider_user(providers, "ivy@example.org"), start=start).status_code == 303
    assert owner.post("/api/v1/auth/oauth/mock/unlink").status_code == 204
    assert owner.get("/api/v1/auth/oauth/identities").json() == []


def test_mfa_user_signing_in_with_oidc_still_needs_the_code(providers, make_client):
    sub = provider_user(providers, "jo@example.org")
    browser = make_client()
    assert oauth_flow(browser, sub).status_code == 303
    headers = csrf(browser)
    browser.http.headers.update(headers)
    device, _ = enable_mfa(browser)

    fresh = make_client()
    r = oauth_flow(fresh, sub, next="/settings/security")
    assert r.status_code == 303 and r.headers["location"] == "/login/mfa"
    assert "smile_session" not in fresh.http.cookies
    assert fresh.get("/api/v1/users/me").status_code == 401
    fresh.get("/login/mfa", headers={"Accept": "text/html"})
    r = fresh.post("/login/mfa", data={"code": device.code(), "csrf_token": fresh.http.cookies["smile_csrf"]})
    assert r.status_code == 303 and r.headers["location"] == "/settings/security"
    assert me(fresh)["email"] == "jo@example.org"


def test_account_without_password_enables_two_factor_only_soon_after_signing_in(providers, make_client, db):
    sub = provider_user(providers, "lena@example.org")
    browser = make_client()
    assert oauth_flow(browser, sub).status_code == 303
    browser.http.headers.update(csrf(browser))
    db.execute("UPDATE auth_sessions SET created_at = now() - interval '1 hour'")  # an old (maybe stolen) session
    assert browser.post("/api/v1/auth/mfa/setup").status_code == 200
    r = browser.post("/api/v1/auth/mfa/enable", json={"code": "123456"})
    assert r.status_code == 403 and r.json()["error"] == "reauthentication_required"
    assert "sign in again" in r.json()["detail"]
    assert db.execute("SELECT mfa_enabled_at FROM users").fetchone() == (None,)


def test_unknown_provider_and_provider_list(providers, client):
    assert client.get("/auth/oauth/nope/login").status_code == 404
    assert client.post("/api/v1/auth/oauth/nope/unlink").status_code == 401  # auth comes first
    names = [p["name"] for p in client.get("/api/v1/auth/oauth/providers").json()]
    assert names == ["mock", "other"]


def test_oauth_buttons_render_only_when_configured(settings, providers, client):
    assert "Continue with Mock" in client.get("/login", headers={"Accept": "text/html"}).text
    settings.oidc_providers = ""
    assert "Continue with" not in client.get("/login", headers={"Accept": "text/html"}).text
    assert client.get("/api/v1/auth/oauth/providers").json() == []


def test_callback_with_forged_state_is_rejected(providers, make_client):
    browser = make_client()
    r = browser.get("/auth/oauth/mock/callback", params={"code": "x", "state": "forged"})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "smile_session" not in browser.http.cookies


def test_unreachable_provider_is_a_clear_message_not_an_error(settings, make_client):
    before = settings.oidc_providers
    settings.oidc_providers = f"down|http://127.0.0.1:{free_port()}|client|secret"
    try:
        browser = make_client()
        r = browser.get("/auth/oauth/down/login")
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert "could not be reached" in browser.get("/login", headers={"Accept": "text/html"}).text
    finally:
        settings.oidc_providers = before


def test_provider_without_email_cannot_create_an_account(providers, make_client, db):
    browser = make_client()
    r = oauth_flow(browser, provider_user(providers, email=None))
    assert r.status_code == 422 and "did not share an email address" in r.text
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 0


def test_suspended_account_cannot_sign_in_with_oidc(providers, make_client, db):
    sub = provider_user(providers, "kim@example.org")
    assert oauth_flow(make_client(), sub).status_code == 303
    db.execute("UPDATE users SET status = 'suspended' WHERE email = 'kim@example.org'")
    browser = make_client()
    r = oauth_flow(browser, sub)
    assert r.status_code == 403 and "cannot sign in" in r.text
    assert "smile_session" not in browser.http.cookies
