"""SMILE_MODULES: each module's declared needs are enforced at start; identity alone boots and serves."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from pydantic import ValidationError

from smile.config import IMPLEMENTED_MODULES, Settings, module_needs
from tests.support import STRONG_PASSWORD, free_port


def settings(tmp_path, modules: str) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, secret_key="k" * 48, modules=modules)


def refusal(tmp_path, modules: str) -> str:
    with pytest.raises(ValidationError) as info:
        settings(tmp_path, modules)
    [error] = info.value.errors()
    assert error["loc"] == ("modules",)
    return error["msg"]


def test_every_module_declares_needs_that_are_modules():
    for name in IMPLEMENTED_MODULES:
        assert set(module_needs(name)) <= set(IMPLEMENTED_MODULES) - {name}, name


@pytest.mark.parametrize(
    "modules, says",
    [
        ("identity,hub", "hub needs billing, ai. Add ai, billing to SMILE_MODULES"),
        ("identity,billing,hub", "hub needs ai. Add ai to SMILE_MODULES"),
        ("identity,social", "social needs ai"),
        ("identity,admin,social", "social needs ai"),
        ("identity,telepathy", "unknown module(s) telepathy"),
        ("identity,marketplace", "module(s) marketplace not built yet"),
        ("identity,agents", "agents needs billing, ai, social"),
        ("billing", "the identity module cannot be disabled"),
    ],
)
def test_incomplete_or_unknown_sets_are_refused_naming_what_is_missing(tmp_path, modules, says):
    assert says in refusal(tmp_path, modules)


def test_complete_sets_are_accepted(tmp_path):
    assert settings(tmp_path, "identity").module_list == ["identity"]
    assert settings(tmp_path, "identity,billing,ai,hub").module_list == ["identity", "billing", "ai", "hub"]
    assert settings(tmp_path, ",".join(IMPLEMENTED_MODULES)).module_list == list(IMPLEMENTED_MODULES)


def _env(tmp_path, database_url: str, modules: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SMILE_")}
    return {
        **clean,
        "SMILE_MODULES": modules,
        "SMILE_DATABASE_URL": database_url,
        "SMILE_RUN_WORKER": "0",
        "SMILE_DATA_DIR": str(tmp_path),
        "SMILE_SECRET_KEY": "m" * 48,
        "SMILE_LOG_LEVEL": "WARNING",
    }


def test_serve_refuses_hub_without_ai(tmp_path, database_url):
    result = subprocess.run(
        [sys.executable, "-m", "smile.cli", "serve", "--port", str(free_port())],
        env=_env(tmp_path, database_url, "identity,billing,hub"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 2, output
    assert "hub needs ai" in output


def test_identity_alone_starts_and_serves_only_identity(tmp_path, database_url):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "smile.cli", "serve", "--port", str(port)],
        env=_env(tmp_path, database_url, "identity"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as web:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, server.stdout.read()
                try:
                    if web.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
            assert web.get("/api/v1/status").json()["modules"] == ["identity"]
            name = f"m{uuid.uuid4().hex[:10]}"
            r = web.post(
                "/api/v1/auth/register",
                json={
                    "email": f"{name}@example.com",
                    "username": name,
                    "password": STRONG_PASSWORD,
                    "display_name": "Solo",
                    "accept_terms": True,
                },
            )
            assert r.status_code == 201, r.text
            r = web.post("/api/v1/auth/login", json={"login": name, "password": STRONG_PASSWORD})
            assert r.status_code == 200, r.text
            auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
            assert web.get("/api/v1/users/me", headers=auth).json()["username"] == name
            for path in (
                "/api/v1/billing/credits/wallet",
                "/api/v1/ai/models",
                "/api/v1/hub/keys",
                "/v1/models",
                "/api/v1/timelines/home",
                "/api/v1/admin/users",
                "/mcp",
            ):
                assert web.get(path, headers=auth).status_code == 404, path
            paths = web.get("/api/openapi.json").json()["paths"]
            assert any(p.startswith("/api/v1/auth/") for p in paths)
            assert not [p for p in paths if p.startswith(("/v1/", "/api/v1/billing", "/api/v1/posts"))]
    finally:
        server.terminate()
        server.wait(15)
