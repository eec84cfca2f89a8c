"""Shared request field types: integers bounded by their column, names without invisible characters."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from smile.kit.fields import clean_name, int32, int64, name


class Sample(BaseModel):
    count: int32(ge=1) | None = None
    amount: int64(ge=-100, le=100) = 0
    title: name(10) = "x"
    labels: list[name(5)] = []


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("Ada\x00 Lovelace", "Ada Lovelace"),
        ("\u202eevil\u202c", "evil"),  # right-to-left override
        ("Zero\u200bWidth\u200c\u200d\ufeff", "ZeroWidth"),
        ("\u2066iso\u2069 late", "iso late"),
        ("  tabs\tand\nnewlines  ", "tabs and newlines"),
        ("soft\u00adhyphen", "softhyphen"),
        ("Dev 👩\u200d💻 here", "Dev 👩\u200d💻 here"),  # an emoji's joiner stays
        ("Zoë 東京 مرحبا", "Zoë 東京 مرحبا"),
    ],
)
def test_clean_name(raw, clean):
    assert clean_name(raw) == clean


def test_bounds_and_lengths():
    assert Sample(count=2**31 - 1, amount=-100, title="\u200bTitle\u202e", labels=["\u200ba"]).title == "Title"
    for bad in (
        {"count": 2**31},
        {"count": 0},
        {"amount": 101},
        {"amount": -(2**63)},
        {"title": "\u200b\u202e"},
        {"title": "x" * 11},
        {"labels": ["\x00"]},
    ):
        with pytest.raises(ValidationError):
            Sample(**bad)
    props = Sample.model_json_schema()["properties"]
    assert props["count"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    assert (props["amount"]["minimum"], props["amount"]["maximum"]) == (-100, 100)
    with pytest.raises(ValueError):
        int32(le=2**31)  # wider than the column: a mistake in the schema, caught at import


def test_the_reported_inputs_get_422_or_clean_names(signup, client):
    api = signup("alice")
    r = api.post("/api/v1/hub/keys", json={"name": "ci", "rpm_limit": 2147483648})
    assert r.status_code == 422 and "rpm_limit" in r.json()["fields"]
    r = api.post("/api/v1/hub/keys", json={"name": "\u202ekey\u200b one\x00", "tpm_limit": 2**31 - 1})
    assert r.status_code == 201 and r.json()["name"] == "key one"
    r = client.post(
        "/api/v1/auth/register",
        json={
            "email": "nul@example.com",
            "username": "nulname",
            "password": "Correct-Horse-42-battery",
            "display_name": "Ada\u0000 \u202eLovelace\u200b",
            "accept_terms": True,
        },
    )
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/v1/auth/register",
        json={
            "email": "blank@example.com",
            "username": "blankname",
            "password": "Correct-Horse-42-battery",
            "display_name": "\u200b\u202e\u0000",
            "accept_terms": True,
        },
    )
    assert r.status_code == 422 and "display_name" in r.json()["fields"]
    r = api.patch("/api/v1/users/me", json={"display_name": "Al\u200bice\u202e", "location": "Pa\u2066ris"})
    assert r.status_code == 200 and (r.json()["display_name"], r.json()["location"]) == ("Alice", "Paris")


def test_nul_never_reaches_the_database_from_json_or_forms(signup, browser):
    api = signup("alice")
    r = api.post("/api/v1/posts", json={"body": "hello\x00 world"})
    assert r.status_code == 201 and "hello world" in r.json()["body_html"]
    r = api.post("/api/v1/billing/credits/redeem", json={"code": "\x00"})
    assert r.status_code in (404, 422), r.text
    web = browser(api, csrf=True)
    r = web.post("/posts", data={"body": "from\x00 a form"})
    assert r.status_code == 303, r.text
    assert any("from a form" in p["body_html"] for p in api.get("/api/v1/timelines/home").json()["items"])
