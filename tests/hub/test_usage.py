"""The usage log, daily aggregates, CSV export and the /hub/usage page, after calls through the gateway."""

from __future__ import annotations

# ruff: noqa: F811 - pytest fixtures imported from other test modules
import csv
import datetime as dt
import io

import openai
import pytest

from tests.hub.test_gateway import ASK, account  # noqa: F401 - fixture


def test_usage_log_daily_csv_and_page(account, signup):
    api, key, sdk = account()
    plain = sdk.chat.completions.create(model="offline", messages=ASK, max_tokens=20)
    list(sdk.chat.completions.create(model="offline", messages=ASK, max_tokens=20, stream=True))
    with pytest.raises(openai.NotFoundError):  # a 404 leaves no usage row
        sdk.chat.completions.create(model="nope", messages=ASK)
    _, _, other = account()
    other.chat.completions.create(model="offline", messages=ASK, max_tokens=5)  # someone else's usage

    first = api.get("/api/v1/hub/usage", params={"limit": 1})
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["items"]) == 1 and page["items"][0]["stream"] is True and page["next_cursor"]
    rest = api.get("/api/v1/hub/usage", params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert rest["items"][0]["id"] == plain.model_extra["smile"]["request_id"] and rest["next_cursor"] is None
    assert rest["items"][0]["api_key_id"] == key["id"]
    assert api.get("/api/v1/hub/usage", params={"status": "failed"}).json()["items"] == []
    assert len(api.get("/api/v1/hub/usage", params={"model": "offline", "key_id": key["id"]}).json()["items"]) == 2

    today = dt.datetime.now(dt.UTC).date().isoformat()
    [day] = api.get("/api/v1/hub/usage/daily").json()
    credits = plain.model_extra["smile"]["credits"]
    assert (day["day"], day["model"], day["requests"]) == (today, "offline", 2) and day["credits"] == 2 * credits
    assert api.get("/api/v1/hub/usage/daily", params={"from": "2020-01-01", "to": "2020-01-31"}).json() == []
    assert api.get("/api/v1/hub/usage/daily", params={"from": today, "to": "2020-01-01"}).status_code == 422
    assert api.get("/api/v1/hub/usage", params={"status": "weird"}).status_code == 422

    exported = api.get("/api/v1/hub/usage.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["status"] for r in rows] == ["ok", "ok"] and rows[1]["credits"] == str(credits)

    html = api.get("/hub/usage")
    assert html.status_code == 200 and 'id="credits-chart"' in html.text and "2 requests" in html.text
    assert signup().get("/api/v1/hub/usage").json()["items"] == []
