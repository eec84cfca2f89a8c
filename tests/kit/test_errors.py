"""The one error shape over real HTTP: validation errors, and request ids on every response and log line."""

import logging
import time

VALID = {
    "email": "shape@example.com",
    "username": "shape_user",
    "password": "Correct-Horse-42",
    "display_name": "Shape",
    "accept_terms": True,
}


def _assert_shape(body: dict) -> None:
    assert set(body) == {"error", "detail", "fields"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["fields"], dict)


def test_missing_fields_name_each_field(client):
    r = client.post("/api/v1/auth/register", json={})
    assert r.status_code == 422
    body = r.json()
    _assert_shape(body)
    assert body["error"] == "invalid"
    assert {"email", "username", "password"} <= set(body["fields"])
    assert all(isinstance(msg, str) and msg for msg in body["fields"].values())
    assert "email" in body["detail"]


def test_wrong_values_name_the_field(client):
    r = client.post("/api/v1/auth/register", json={**VALID, "email": "not-an-email"})
    assert r.status_code == 422
    body = r.json()
    _assert_shape(body)
    assert body["error"] == "invalid" and "email" in body["fields"]
    assert set(body["fields"]) == {"email"}


def test_malformed_json_is_a_clear_422(client):
    r = client.post("/api/v1/auth/register", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    body = r.json()
    _assert_shape(body)
    assert body["error"] == "invalid"


def test_request_id_on_error_responses(client):
    r = client.post("/api/v1/auth/register", json={}, headers={"X-Request-ID": "req-e-42"})
    assert r.status_code == 422 and r.headers["x-request-id"] == "req-e-42"
    r = client.get("/api/v1/nope", headers={"X-Request-ID": "req-e-43"})
    assert r.status_code == 404 and r.headers["x-request-id"] == "req-e-43"


def test_unusable_request_id_is_replaced(client):
    r = client.get("/healthz", headers={"X-Request-ID": "x" * 129})
    assert r.status_code == 200
    replaced = r.headers["x-request-id"]
    assert len(replaced) == 32 and replaced != "x" * 129


def test_request_id_is_in_the_log_line(client, caplog):
    caplog.set_level(logging.INFO)
    r = client.get("/api/v1/status", headers={"X-Request-ID": "trace-e-7"})
    assert r.status_code == 200
    deadline = time.monotonic() + 5  # the access line is written just after the response is sent
    while True:
        events = [rec.msg for rec in caplog.records if isinstance(rec.msg, dict)]
        mine = [e for e in events if e.get("request_id") == "trace-e-7"]
        if any(e.get("event") == "request" for e in mine) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert mine, f"no log line carried the request id; saw {events[-3:]}"
    assert any(
        e.get("event") == "request" and e.get("route") == "/api/v1/status" and e.get("status") == 200 for e in mine
    )


def test_database_unreachable_tells_a_lost_connection_from_a_failed_statement():
    """Only a database that cannot be reached is a 503; a statement that failed stays a bug (500)."""
    import psycopg
    from procrastinate.exceptions import ConnectorException
    from sqlalchemy import exc as sa_exc

    from smile.kit.errors import database_unreachable

    refused = psycopg.OperationalError("connection refused")  # raised by the client: no sqlstate
    wrapped = sa_exc.OperationalError("SELECT 1", {}, refused)
    by_procrastinate = ConnectorException()
    by_procrastinate.__cause__ = refused
    for lost in (
        refused,
        wrapped,
        by_procrastinate,
        psycopg.errors.AdminShutdown(),
        psycopg.errors.CannotConnectNow(),
        psycopg.InterfaceError("the connection is closed"),
        sa_exc.TimeoutError("QueuePool limit reached"),
    ):
        assert database_unreachable(lost), lost
    duplicate = psycopg.errors.UniqueViolation()
    for failed in (
        duplicate,
        sa_exc.IntegrityError("INSERT", {}, duplicate),
        psycopg.errors.QueryCanceled(),
        psycopg.errors.LockNotAvailable(),
        ValueError("no"),
    ):
        assert not database_unreachable(failed), failed
