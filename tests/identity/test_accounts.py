"""Sign-up, email verification and sign-in over the JSON API and the HTML pages."""

from __future__ import annotations

import re

from tests.support import STRONG_PASSWORD

REGISTER = "/api/v1/auth/register"


def register(client, username="alice", email=None, password=STRONG_PASSWORD, **extra):
    body = {
        "email": email or f"{username}@example.com",
        "username": username,
        "password": password,
        "display_name": username.title(),
        "accept_terms": True,
        **extra,
    }
    return client.post(REGISTER, json=body)


def login(client, who, password=STRONG_PASSWORD):
    return client.post("/api/v1/auth/login", json={"login": who, "password": password})


def test_register_returns_me_and_emails_a_hashed_code(client, mailbox, db):
    r = register(client, "alice")
    assert r.status_code == 201, r.text
    me = r.json()
    assert (me["username"], me["email"], me["email_verified"], me["account_type"]) == (
        "alice",
        "alice@example.com",
        False,
        "person",
    )
    assert me["roles"] == ["user"] and me["is_ai"] is False
    mail = mailbox.wait("alice@example.com", "verification code")
    code = re.search(r"\b(\d{6})\b", mail["body"]).group(1)
    stored = db.execute("SELECT code_hash, expires_at - created_at FROM email_codes").fetchall()
    assert len(stored) == 1 and code not in stored[0][0] and len(stored[0][0]) == 64
    assert 14 * 60 <= stored[0][1].total_seconds() <= 15 * 60 + 1
    assert db.execute("SELECT action FROM audit_log").fetchall() == [("account.register",)]


def test_register_names_every_broken_password_rule(client):
    r = register(client, "alice", password="aaaa")
    assert r.status_code == 422
    message = r.json()["fields"]["password"]
    for rule in (
        "at least 10 characters",
        "both lowercase and uppercase letters",
        "at least one digit",
        "at least 5 different characters",
    ):
        assert rule in message
    r = register(client, "alice", password="xxAlice-smith-9")
    assert "not containing your username or email" in r.json()["fields"]["password"]
    assert "at least 10 characters" not in r.json()["fields"]["password"]


def test_register_username_rules(client):
    for bad in ("ab", "bad-name", "x" * 31, "émile"):
        r = register(client, bad, email="someone@example.com")
        assert r.status_code == 422, bad
        assert "3–30 characters" in r.json()["fields"]["username"]
    r = register(client, "admin", email="someone@example.com")
    assert "reserved" in r.json()["fields"]["username"]
    r = register(client, "Mixed_Case1", email="mixed@example.com")
    assert r.status_code == 201 and r.json()["username"] == "mixed_case1"


def test_register_duplicates_are_case_insensitive(client):
    assert register(client, "bob", email="Bob@Example.com").status_code == 201
    r = register(client, "bobby", email="bob@example.COM")
    assert r.status_code == 409
    assert list(r.json()["fields"]) == ["email"]
    r = register(client, "BOB", email="other@example.com")
    assert r.status_code == 409
    assert list(r.json()["fields"]) == ["username"]
    assert "taken" in r.json()["detail"]


def test_register_refuses_agents_unaccepted_terms_and_bad_input(client):
    r = register(client, "agent007", account_type="ai_agent", accept_terms=False)
    assert r.status_code == 422
    fields = r.json()["fields"]
    assert "created by their owners" in fields["account_type"]
    assert "Accept the terms" in fields["accept_terms"]
    r = register(client, "robot", account_type="robot")
    assert r.status_code == 422 and "account_type" in r.json()["fields"]
    r = register(client, "carol", email="not-an-email")
    assert r.status_code == 422 and "email" in r.json()["fields"]
    assert register(client, "biz", account_type="business").json()["account_type"] == "business"


def test_verify_email_with_the_right_code_then_the_code_is_spent(signup, mailbox):
    api = signup("dana", verify=False)
    assert api.user["email_verified"] is False
    code = mailbox.code(api.email)
    r = api.post("/api/v1/auth/verify-email", json={"code": code})
    assert r.status_code == 200 and r.json()["email_verified"] is True
    r = api.post("/api/v1/auth/verify-email", json={"code": code})
    assert r.status_code == 422 and r.json()["error"] == "code_used"
    r = api.post("/api/v1/auth/verify-email/resend")
    assert r.status_code == 409 and r.json()["error"] == "already_verified"


def test_wrong_codes_are_counted_and_the_code_dies_after_five(signup, mailbox, db):
    api = signup("erin", verify=False)
    code = mailbox.code(api.email)
    wrong = "000000" if code != "000000" else "111111"
    for tries_left in (4, 3, 2, 1):
        r = api.post("/api/v1/auth/verify-email", json={"code": wrong})
        assert r.status_code == 422 and r.json()["error"] == "code_wrong"
        assert f"{tries_left} tr" in r.json()["fields"]["code"]
    assert db.execute("SELECT attempts FROM email_codes").fetchone() == (4,)  # kept despite the 422s
    r = api.post("/api/v1/auth/verify-email", json={"code": wrong})
    assert r.json()["error"] == "code_dead" and "new code" in r.json()["detail"]
    r = api.post("/api/v1/auth/verify-email", json={"code": code})
    assert r.status_code == 422 and r.json()["error"] == "code_dead"
    db.execute("UPDATE email_codes SET created_at = now() - interval '2 minutes'")
    assert api.post("/api/v1/auth/verify-email/resend").status_code == 202
    r = api.post("/api/v1/auth/verify-email", json={"code": mailbox.code(api.email, after=1)})
    assert r.status_code == 200 and r.json()["email_verified"] is True


def test_expired_code_fails(signup, mailbox, db):
    api = signup("fred", verify=False)
    code = mailbox.code(api.email)
    db.execute("UPDATE email_codes SET expires_at = now() - interval '1 second'")
    r = api.post("/api/v1/auth/verify-email", json={"code": code})
    assert r.status_code == 422 and r.json()["error"] == "code_expired"
    assert "15 minutes" in r.json()["detail"]


def test_resend_is_throttled_and_replaces_the_old_code(signup, mailbox, db):
    api = signup("gina", verify=False)
    first = mailbox.code(api.email)
    r = api.post("/api/v1/auth/verify-email/resend")
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 60 and r.json()["error"] == "rate_limited"
    db.execute("UPDATE email_codes SET created_at = now() - interval '61 seconds'")
    assert api.post("/api/v1/auth/verify-email/resend").status_code == 202
    second = mailbox.code(api.email, after=1)
    if first != second:
        r = api.post("/api/v1/auth/verify-email", json={"code": first})
        assert r.status_code == 422 and r.json()["error"] == "code_wrong"
    assert api.post("/api/v1/auth/verify-email", json={"code": second}).status_code == 200


def test_verify_requires_login(client):
    r = client.post("/api/v1/auth/verify-email", json={"code": "123456"})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


def test_unverified_user_can_log_in(client, mailbox):
    register(client, "hank")
    r = login(client, "hank")
    assert r.status_code == 200
    assert r.json()["user"]["email_verified"] is False and r.json()["token_type"] == "bearer"


def test_login_by_email_or_username_any_case(client, db):
    register(client, "ivy")
    for who in ("ivy", "IVY", "ivy@example.com", "Ivy@Example.com"):
        r = login(client, who)
        assert r.status_code == 200, who
        body = r.json()
        assert body["access_token"] and body["refresh_token"] and body["expires_in"] == 15 * 60
        assert body["user"]["username"] == "ivy"
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'auth.login'").fetchone() == (4,)
    assert db.execute("SELECT count(*) FROM auth_sessions WHERE kind = 'api'").fetchone() == (4,)


def test_wrong_password_and_unknown_user_get_the_same_answer(client):
    register(client, "jack")
    wrong = login(client, "jack", "Wrong-Password-1")
    unknown = login(client, "nobody", "Wrong-Password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"] == "invalid_credentials"


def test_suspended_and_deleted_accounts_cannot_log_in(client, db):
    register(client, "kim")
    db.execute("UPDATE users SET status = 'suspended'")
    r = login(client, "kim")
    assert r.status_code == 403 and r.json()["error"] == "suspended" and "suspended" in r.json()["detail"]
    db.execute("UPDATE users SET status = 'deleted'")
    assert login(client, "kim").status_code == 401


def test_login_with_two_factor_answers_a_challenge(signup, client, db):
    from tests.support import enable_mfa

    api = signup("liam")
    device, _ = enable_mfa(api)
    before = db.execute("SELECT count(*) FROM auth_sessions").fetchone()[0]
    r = login(client, "liam")
    assert r.status_code == 200
    body = r.json()
    assert body["mfa_required"] is True and body["mfa_token"] and "access_token" not in body
    assert db.execute("SELECT count(*) FROM auth_sessions").fetchone()[0] == before
    r = client.post("/api/v1/auth/login/mfa", json={"mfa_token": body["mfa_token"], "code": device.code()})
    assert r.status_code == 200 and r.json()["access_token"]


def test_register_and_verify_through_the_pages(make_client, mailbox):
    web = make_client().http
    page = web.get("/register")
    assert page.status_code == 200 and 'name="username"' in page.text
    form = {
        "csrf_token": web.cookies["smile_csrf"],
        "email": "mia@example.com",
        "username": "mia",
        "display_name": "Mia",
        "password": "short",
        "account_type": "person",
        "accept_terms": "on",
    }
    r = web.post("/register", data=form)
    assert r.status_code == 422
    assert "at least 10 characters" in r.text and 'aria-invalid="true"' in r.text
    assert 'value="mia@example.com"' in r.text and 'value="short"' not in r.text
    r = web.post("/register", data={**form, "password": STRONG_PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/verify-email"
    page = web.get("/verify-email")
    assert "mia@example.com" in page.text and "Welcome to smile" in page.text
    r = web.post("/verify-email", data={"csrf_token": web.cookies["smile_csrf"], "code": "999999"})
    assert r.status_code == 422 and "not right" in r.text
    r = web.post(
        "/verify-email", data={"csrf_token": web.cookies["smile_csrf"], "code": mailbox.code("mia@example.com")}
    )
    assert r.status_code == 303
    assert "verified" in web.get("/").text


def test_register_page_refuses_a_post_without_csrf(make_client, db):
    web = make_client().http
    web.get("/register")
    r = web.post(
        "/register",
        data={
            "email": "ned@example.com",
            "username": "ned",
            "display_name": "Ned",
            "password": STRONG_PASSWORD,
            "accept_terms": "on",
        },
    )
    assert r.status_code == 403
    assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)
