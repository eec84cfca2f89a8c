"""Operational endpoints, error shape and request ids over real HTTP."""


def test_healthz_and_request_id(client):
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32 and generated != "abc-123"


def test_readyz_reports_current_migrations(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] is True and body["migrations_current"] is True and body["pending_migrations"] == []


def test_status(client):
    body = client.get("/api/v1/status").json()
    assert body["database_version"].startswith(("15", "16", "17", "18"))
    assert "identity" in body["modules"]
    assert isinstance(body["job_queue_depth"], int)


def test_migrations_listed_as_applied(client):
    revisions = client.get("/api/v1/migrations").json()
    assert revisions and all(r["applied"] for r in revisions)
    assert revisions[0]["revision"] == "0001"


def test_unknown_api_path_uses_error_shape(client):
    r = client.get("/api/v1/does-not-exist")
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "detail": "Not found.", "fields": {}}


def test_unknown_page_renders_html_404(client):
    r = client.get("/no/such/page", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert "Page not found" in r.text and "<html" in r.text


def test_metrics_count_requests_by_route_template(client):
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'smile_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "smile_db_pool_checked_out" in text
    assert "smile_http_request_seconds_bucket" in text
