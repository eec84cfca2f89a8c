"""The model catalog over HTTP: users list enabled models, admins change prices and chains, others get 404."""

from __future__ import annotations

from tests.admin.helpers import make_admin

ADMIN = "/api/v1/admin/ai/models"


def test_users_see_enabled_models_and_only_admins_may_change_them(signup, db):
    person = signup()
    r = person.get("/api/v1/ai/models")
    assert r.status_code == 200, r.text
    offline = next(m for m in r.json() if m["id"] == "offline")
    assert offline["provider"] == "offline" and offline["enabled"] is True
    assert person.get(ADMIN).status_code == 404
    assert person.patch(f"{ADMIN}/offline", json={"input_credits_per_m": 1}).status_code == 404

    admin = make_admin(signup, db)
    r = admin.post(
        ADMIN,
        json={
            "id": "local-echo",
            "provider": "offline",
            "upstream_model": "offline",
            "input_credits_per_m": 5,
            "output_credits_per_m": 7,
            "fallbacks": ["offline"],
        },
    )
    assert r.status_code == 201, r.text
    r = admin.patch(f"{ADMIN}/local-echo", json={"output_credits_per_m": 9, "enabled": False})
    assert r.status_code == 200 and r.json()["output_credits_per_m"] == 9 and r.json()["enabled"] is False
    assert "local-echo" not in [m["id"] for m in person.get("/api/v1/ai/models").json()]
    assert "local-echo" in [m["id"] for m in admin.get(ADMIN).json()]

    r = admin.patch(f"{ADMIN}/offline", json={"enabled": False})
    assert r.status_code == 422 and r.json()["error"] == "invalid"
    r = admin.patch(f"{ADMIN}/local-echo", json={"fallbacks": ["nope"]})
    assert r.status_code == 422 and "fallbacks" in r.json()["fields"]
    assert admin.patch(f"{ADMIN}/missing", json={"enabled": True}).status_code == 404
    assert (
        admin.post(
            ADMIN,
            json={
                "id": "x",
                "provider": "nowhere",
                "upstream_model": "m",
                "input_credits_per_m": 1,
                "output_credits_per_m": 1,
            },
        ).status_code
        == 422
    )
    assert admin.patch(f"{ADMIN}/offline", json={"input_credits_per_m": -1}).status_code == 422
