"""The admin AI model catalog page over HTTP: list, edit, add, validation, and who may see it."""

from __future__ import annotations

from tests.admin.helpers import make_admin

HTML = {"Accept": "text/html"}
PAGE = "/admin/ai/models"


def offline(admin) -> dict:
    return next(m for m in admin.get("/api/v1/admin/ai/models").json() if m["id"] == "offline")


def test_admin_sees_the_catalog_and_edits_a_model(signup, db):
    admin = make_admin(signup, db)
    r = admin.get(PAGE, headers=HTML)
    assert r.status_code == 200 and 'data-model="offline"' in r.text and 'href="/admin/ai/models"' in r.text
    assert admin.get(f"{PAGE}/offline", headers=HTML).status_code == 200
    r = admin.post(
        f"{PAGE}/offline",
        headers=HTML,
        data={
            "upstream_model": "offline",
            "input_credits_per_m": "25000",
            "output_credits_per_m": "50000",
            "cached_credits_per_m": "1000",
            "context_window": "16000",
            "fallbacks": "",
            "enabled": "on",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == PAGE
    model = offline(admin)
    assert (model["input_credits_per_m"], model["output_credits_per_m"], model["context_window"]) == (
        25000,
        50000,
        16000,
    )
    page = admin.get(PAGE, headers=HTML).text
    assert "Saved “offline”" in page and "50,000" in page
    assert db.execute("SELECT target_id, target_type FROM audit_log WHERE action = 'ai.model_updated'").fetchall() == [
        ("offline", "ai_model")
    ]


def test_bad_input_is_shown_on_the_form_and_changes_nothing(signup, db):
    admin = make_admin(signup, db)
    before = offline(admin)
    r = admin.post(
        f"{PAGE}/offline",
        headers=HTML,
        data={
            "upstream_model": "offline",
            "input_credits_per_m": "-5",
            "output_credits_per_m": "lots",
            "cached_credits_per_m": "0",
            "context_window": "100",
            "fallbacks": "",
            "enabled": "on",
        },
    )
    assert r.status_code == 422
    assert 'id="f-input_credits_per_m-error"' in r.text and 'id="f-output_credits_per_m-error"' in r.text
    assert 'value="lots"' in r.text  # what was typed is kept
    r = admin.post(
        f"{PAGE}/offline",
        headers=HTML,
        data={
            "upstream_model": "offline",
            "input_credits_per_m": "1",
            "output_credits_per_m": "1",
            "cached_credits_per_m": "1",
            "context_window": "100",
            "fallbacks": "nowhere",
        },
    )  # enabled unchecked
    assert r.status_code == 422 and "cannot be disabled" in r.text
    assert offline(admin) == before


def test_admin_adds_a_model_and_unknown_providers_are_refused(signup, db):
    admin = make_admin(signup, db)
    form = {
        "id": "offline-cheap",
        "provider": "offline",
        "upstream_model": "offline",
        "input_credits_per_m": "10",
        "output_credits_per_m": "20",
        "cached_credits_per_m": "0",
        "context_window": "4096",
        "fallbacks": "offline",
        "enabled": "on",
    }
    r = admin.post(PAGE, headers=HTML, data={**form, "provider": "nowhere"})
    assert r.status_code == 422 and "No provider" in r.text and 'id="add-model" open' in r.text
    r = admin.post(PAGE, headers=HTML, data=form)
    assert r.status_code == 303
    added = next(m for m in admin.get("/api/v1/admin/ai/models").json() if m["id"] == "offline-cheap")
    assert (added["output_credits_per_m"], added["fallbacks"], added["enabled"]) == (20, ["offline"], True)
    r = admin.post(PAGE, headers=HTML, data=form)
    assert r.status_code == 422 and "exists" in r.text
    assert admin.get(f"{PAGE}/offline-cheap", headers=HTML).status_code == 200


def test_non_admins_get_not_found(signup):
    alice = signup()
    assert alice.get(PAGE, headers=HTML).status_code == 404
    assert alice.get(f"{PAGE}/offline", headers=HTML).status_code == 404
    r = alice.post(f"{PAGE}/offline", headers=HTML, data={"input_credits_per_m": "0"})
    assert r.status_code == 404
    assert alice.get(f"{PAGE}/no-such", headers=HTML).status_code == 404
