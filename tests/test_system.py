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


OPS = ("/metrics", "/api/v1/status", "/api/v1/migrations")
TOKEN = "ops-token-0123456789abcdef"


def test_operations_endpoints_are_open_in_dev(client):
    for path in OPS:
        assert client.get(path).status_code == 200, path


def test_operations_endpoints_are_closed_in_prod_until_configured(client, settings, monkeypatch):
    monkeypatch.setattr(settings, "env", "prod")
    for path in OPS:
        r = client.get(path)
        assert r.status_code == 403, path
        assert r.json()["error"] == "forbidden" and "SMILE_METRICS_TOKEN" in r.json()["detail"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_prod_operations_endpoints_need_the_metrics_token(client, settings, monkeypatch):
    monkeypatch.setattr(settings, "env", "prod")
    monkeypatch.setattr(settings, "metrics_token", TOKEN)
    for path in OPS:
        r = client.get(path)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", path
        assert client.get(path, headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 401
        assert client.get(path, headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
        assert client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200, path
    body = client.get("/api/v1/status", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert body["env"] == "prod" and "identity" in body["modules"]
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert "smile_http_requests_total" in text
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200


def test_prod_operations_endpoints_from_allowed_addresses(client, settings, monkeypatch):
    monkeypatch.setattr(settings, "env", "prod")
    monkeypatch.setattr(settings, "metrics_allow_ips", "10.0.0.0/8")  # the test client is 127.0.0.1
    for path in OPS:
        r = client.get(path)
        assert r.status_code == 403 and "SMILE_METRICS_ALLOW_IPS" in r.json()["detail"], path
    monkeypatch.setattr(settings, "metrics_allow_ips", "10.0.0.0/8, 127.0.0.1")
    for path in OPS:
        assert client.get(path).status_code == 200, path
    # either one lets a request in: the token from elsewhere, or the address without a token
    monkeypatch.setattr(settings, "metrics_allow_ips", "192.0.2.0/24")
    monkeypatch.setattr(settings, "metrics_token", TOKEN)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_token_set_in_dev_is_required_too(client, settings, monkeypatch):
    monkeypatch.setattr(settings, "metrics_token", TOKEN)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_metrics_settings_are_validated(tmp_path):
    import pytest
    from pydantic import ValidationError

    from smile.config import Settings

    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings(_env_file=None, data_dir=tmp_path, metrics_allow_ips="10.0.0.0/8, intranet")
    with pytest.raises(ValidationError, match="at least 16"):
        Settings(_env_file=None, data_dir=tmp_path, metrics_token="short")
    ok = Settings(_env_file=None, data_dir=tmp_path, metrics_allow_ips="127.0.0.1, 10.0.0.0/8", metrics_token="")
    assert [str(n) for n in ok.metrics_networks] == ["127.0.0.1/32", "10.0.0.0/8"] and ok.metrics_token is None


def test_job_metrics_fall_back_to_zero_once_the_queue_drains(client, db):
    def failed() -> str:
        line = [x for x in client.get("/metrics").text.splitlines() if x.startswith('smile_jobs{status="failed"}')]
        return line[0].split()[-1] if line else "missing"

    db.execute(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status) "
        "VALUES ('metrics-test', 'metrics.test', '{}', 'failed')"
    )
    assert failed() == "1.0"
    db.execute("DELETE FROM procrastinate_jobs WHERE queue_name = 'metrics-test'")
    assert failed() == "0.0"  # not the last non-zero value
