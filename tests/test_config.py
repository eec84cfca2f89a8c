"""Configuration: bad values fail with the variable named, dev secrets persist, SMTP URLs parse."""

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from smile.config import Settings

SECRET = "k" * 48


@pytest.fixture(autouse=True)
def _no_smile_env(monkeypatch):
    """Only what each test passes counts (a developer's own SMILE_* variables are hidden)."""
    for name in list(os.environ):
        if name.startswith("SMILE_"):
            monkeypatch.delenv(name)


def make(tmp_path, **values) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)


def cli(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SMILE_")}
    clean.update({"SMILE_DATA_DIR": str(tmp_path / "data"), **env})
    return subprocess.run(
        [sys.executable, "-m", "smile.cli", *args], cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=60
    )


def test_prod_requires_a_secret(tmp_path):
    with pytest.raises(ValidationError, match="SMILE_SECRET_KEY is required"):
        make(tmp_path, env="prod")
    with pytest.raises(ValidationError, match="SMILE_SECRET_KEY must be at least 32"):
        make(tmp_path, env="prod", secret_key="short")
    assert make(tmp_path, env="prod", secret_key=SECRET).secret_key == SECRET
    assert not (tmp_path / "secret_key").exists()  # prod never invents a secret


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("database_url", "mysql://u@h/db", "must be a postgresql:// URL"),
        ("redis_url", "http://cache:6379", "must be a redis:// or rediss:// URL"),
        ("smtp_url", "http://mail", "must look like smtp://"),
        ("smtp_url", "smtp://", "must look like smtp://"),
        ("base_url", "ftp://example.com", "must be an http:// or https:// URL"),
        ("modules", "identity,telepathy", "unknown module(s) telepathy"),
        ("modules", "admin", "the identity module cannot be disabled"),
        ("env", "staging", "'dev' or 'prod'"),
        ("lockout_failures", 0, "greater than or equal to 1"),
    ],
)
def test_invalid_values_name_the_field(tmp_path, field, value, message):
    with pytest.raises(ValidationError) as info:
        make(tmp_path, secret_key=SECRET, **{field: value})
    errors = info.value.errors()
    assert [e["loc"] for e in errors] == [(field,)]
    assert message in errors[0]["msg"]


def test_rate_limit_rules_are_checked_at_start(tmp_path):
    with pytest.raises(ValidationError, match="SMILE_RATE_LOGIN must look like 20/minute or 100/hour"):
        make(tmp_path, secret_key=SECRET, rate_login="lots")
    assert make(tmp_path, secret_key=SECRET, rate_register="3 per hour").rate_register == "3 per hour"


def test_valid_values_are_normalised(tmp_path):
    settings = make(
        tmp_path,
        secret_key=SECRET,
        modules=" identity , admin ",
        base_url="https://smile.example/",
        database_url="",
        redis_url="",
        smtp_url="",
    )
    assert settings.module_list == ["identity", "admin"]
    assert settings.base_url == "https://smile.example"
    assert settings.database_url is None and settings.redis_url is None and settings.smtp_url is None
    assert settings.is_dev and not settings.json_logs
    assert make(tmp_path, env="prod", secret_key=SECRET).json_logs


def test_environment_variables_are_read(tmp_path, monkeypatch):
    monkeypatch.setenv("SMILE_SECRET_KEY", SECRET)
    monkeypatch.setenv("SMILE_MODULES", "identity")
    monkeypatch.setenv("SMILE_LOCKOUT_MINUTES", "7")
    settings = make(tmp_path)
    assert settings.secret_key == SECRET and settings.module_list == ["identity"]
    assert settings.lockout_minutes == 7


def test_dev_secret_is_generated_once_and_reused(tmp_path):
    first = make(tmp_path).secret_key
    path = tmp_path / "secret_key"
    assert len(first) >= 32 and path.read_text() == first
    assert path.stat().st_mode & 0o777 == 0o600
    assert make(tmp_path).secret_key == first
    assert make(tmp_path / "other").secret_key != first


def test_smtp_url_parsing(tmp_path):
    starttls = make(tmp_path, smtp_url="smtp://mailer:p%40ss@mail.example:587?starttls=1").smtp
    assert starttls == {
        "hostname": "mail.example",
        "port": 587,
        "username": "mailer",
        "password": "p%40ss",
        "use_tls": False,
        "start_tls": True,
    }
    implicit = make(tmp_path, smtp_url="smtps://mail.example").smtp
    assert implicit["port"] == 465 and implicit["use_tls"] and not implicit["start_tls"]
    assert implicit["username"] is None and implicit["password"] is None
    plain = make(tmp_path, smtp_url="smtp://127.0.0.1").smtp
    assert plain["port"] == 25 and not plain["use_tls"] and not plain["start_tls"]
    assert not make(tmp_path, smtp_url="smtp://h:2525?starttls=0").smtp["start_tls"]


def test_oidc_providers_parsing(tmp_path):
    settings = make(
        tmp_path,
        google_client_id="gid",
        google_client_secret="gsecret",
        oidc_providers="corp|https://sso.corp.example/|cid|csecret",
    )
    assert [p["name"] for p in settings.oidc_provider_list()] == ["google", "corp"]
    assert settings.oidc_provider_list()[1]["issuer"] == "https://sso.corp.example"
    with pytest.raises(ValueError, match="SMILE_OIDC_PROVIDERS"):
        make(tmp_path, oidc_providers="broken|entry").oidc_provider_list()


@pytest.mark.parametrize(
    "env, variable, message",
    [
        ({"SMILE_ENV": "prod"}, "SMILE_SECRET_KEY", "required when SMILE_ENV=prod"),
        ({"SMILE_SECRET_KEY": SECRET, "SMILE_DATABASE_URL": "sqlite:///x.db"}, "SMILE_DATABASE_URL", "postgresql://"),
        ({"SMILE_SECRET_KEY": SECRET, "SMILE_MODULES": "identity,nonsense"}, "SMILE_MODULES", "nonsense"),
        ({"SMILE_SECRET_KEY": SECRET, "SMILE_SMTP_URL": "mail.example:25"}, "SMILE_SMTP_URL", "smtp://"),
        ({"SMILE_SECRET_KEY": SECRET, "SMILE_LOCKOUT_FAILURES": "many"}, "SMILE_LOCKOUT_FAILURES", "integer"),
        ({"SMILE_SECRET_KEY": SECRET, "SMILE_RATE_LOGIN": "lots"}, "SMILE_RATE_LOGIN", "20/minute"),
    ],
)
def test_cli_refuses_bad_configuration_naming_the_variable(tmp_path, env, variable, message):
    result = cli(tmp_path, "migrate", **env)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Invalid configuration" in output
    assert variable in output and message in output
    assert "Traceback" not in output
    assert not (tmp_path / "data" / "postgres").exists()  # failed before touching any database
