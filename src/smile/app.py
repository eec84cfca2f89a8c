"""create_app(): settings, middleware, and the routers of the enabled modules."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator

import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from smile import __version__
from smile.config import Settings, get_settings
from smile.kit import errors, jobs, migrate, realtime, runtime
from smile.kit.observability import RequestMiddleware, configure_logging
from smile.kit.requests import BodyLimit
from smile.web.render import HERE as WEB_DIR
from smile.web.security import SecurityHeaders

log = structlog.get_logger("smile")

# Each enabled module contributes these routers (JSON API and HTML pages) and task modules. What a module
# needs enabled with it is declared in its package (NEEDS in smile/<module>/__init__.py), checked by Settings.
MODULE_ROUTERS: dict[str, list[str]] = {
    "identity": [
        "smile.identity.accounts.endpoints",
        "smile.identity.accounts.pages",
        "smile.identity.mfa.endpoints",
        "smile.identity.mfa.pages",
        "smile.identity.oauth.endpoints",
        "smile.identity.oauth.pages",
        "smile.identity.profile.endpoints",
        "smile.identity.profile.pages",
    ],
    "billing": [
        f"smile.billing.{area}.{kind}"
        for area in ("payments", "credits", "subscriptions", "sales", "reports")
        for kind in ("endpoints", "pages")
    ],
    "admin": ["smile.admin.endpoints", "smile.admin.pages"],
    "agents": [
        "smile.agents.endpoints",
        "smile.agents.pages",
        "smile.agents.dashboard_endpoints",
        "smile.agents.dashboard_pages",
        "smile.agents.knowledge.endpoints",
        "smile.agents.knowledge.pages",
        "smile.agents.memory.endpoints",
    ],
    "ai": ["smile.ai.endpoints", "smile.ai.pages"],
    "hub": ["smile.hub.endpoints", "smile.hub.pages", "smile.hub.gateway", "smile.hub.usage", "smile.hub.playground"],
    "social": [
        f"smile.social.{area}.{kind}"
        for area, kinds in {
            "posts": ("endpoints", "pages"),
            "graph": ("endpoints", "pages"),
            "timelines": ("endpoints", "pages"),
            "messages": ("endpoints", "pages"),
            "notifications": ("endpoints", "pages"),
            "realtime": ("endpoints",),
            "search": ("endpoints", "pages"),
            "media": ("endpoints",),
        }.items()
        for kind in kinds
    ],
}
MODULE_TASKS: dict[str, list[str]] = {
    "agents": ["smile.agents.tasks", "smile.agents.knowledge.tasks"],
    "ai": ["smile.ai.tasks"],
    "billing": [f"smile.billing.{area}.tasks" for area in ("ledger", "payments", "credits", "subscriptions", "sales")],
    "identity": ["smile.kit.mail", "smile.identity.profile.tasks"],
    "social": [
        "smile.social.posts.tasks",
        "smile.social.timelines.tasks",
        "smile.social.realtime.tasks",
        "smile.social.media.tasks",
    ],
}
# Each enabled module's exporter and eraser: importing one registers it with identity's GDPR registry.
MODULE_GDPR: dict[str, list[str]] = {
    "agents": ["smile.agents.gdpr", "smile.agents.memory.gdpr"],
    "ai": ["smile.ai.gdpr"],
    "billing": ["smile.billing.gdpr"],
    "hub": ["smile.hub.gdpr"],
    "social": ["smile.social.gdpr"],
}
# Routers of one module that need another: (module, the other) -> routers.
JOINT_ROUTERS: dict[tuple[str, str], list[str]] = {("admin", "social"): ["smile.admin.moderation"]}
CORE_ROUTERS = ["smile.system", "smile.web.pages", "smile.kit.storage"]


def load_tasks(settings: Settings) -> None:
    """The enabled modules' jobs, and their GDPR exporters and erasers (the export and erasure jobs use them)."""
    for module in settings.module_list:
        for name in MODULE_TASKS.get(module, []) + MODULE_GDPR.get(module, []):
            importlib.import_module(name)


class PendingMigrations(RuntimeError):
    pass


def create_app(
    settings: Settings | None = None, database_url: str | None = None, run_worker: bool | None = None
) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.json_logs, settings.log_level)
    load_tasks(settings)
    worker_enabled = settings.run_worker if run_worker is None else run_worker

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime.start(settings, database_url)
        todo = await asyncio.to_thread(migrate.pending, rt.database_url)
        if todo:
            raise PendingMigrations(
                f"the database has pending migrations: {', '.join(todo)}. Run `smile migrate` first."
            )
        app.state.runtime = rt
        worker = None
        async with jobs.job_app.open_async():
            if worker_enabled:
                worker = asyncio.create_task(
                    jobs.run_worker(
                        rt.restarter and rt.restarter.trigger,
                        install_signal_handlers=False,
                        name="in-process",
                        update_heartbeat_interval=10,
                    )
                )
            log.info("started", version=__version__, modules=settings.module_list, worker=worker_enabled)
            if "ai" in settings.module_list:  # says whether embeddings/the classifier are installed; warms it
                importlib.import_module("smile.ai.moderation").start(settings)
            try:
                yield
            finally:
                if worker is not None:
                    worker.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await worker
                await realtime.close()
                await rt.db.dispose()

    app = FastAPI(
        title="smile",
        version=__version__,
        summary="Self-hostable, AI-native community platform",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    errors.document_error_shape(app)
    app.add_exception_handler(errors.AppError, errors.app_error_handler)
    app.add_exception_handler(RequestValidationError, errors.validation_handler)
    app.add_exception_handler(StarletteHTTPException, errors.http_error_handler)
    for database_error in errors.DATABASE_ERRORS:  # 503 while the database is unreachable
        app.add_exception_handler(database_error, errors.database_error_handler)
    app.add_exception_handler(Exception, errors.unhandled_handler)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="smile_flash",
        https_only=settings.base_url.startswith("https"),
        same_site="lax",
    )
    app.add_middleware(SecurityHeaders, settings=settings, docs_path=app.docs_url)
    app.add_middleware(RequestMiddleware)
    app.add_middleware(BodyLimit)  # outermost: no body is read past the upload limit
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    # /media/{key} serves only public keys (avatars) from the configured storage; post and
    # message media are served by access-checked routes (smile.social.media.endpoints).

    names = list(CORE_ROUTERS)
    for module in settings.module_list:
        names.extend(MODULE_ROUTERS.get(module, []))
    for (module, other), routers in JOINT_ROUTERS.items():
        if module in settings.module_list and other in settings.module_list:
            names.extend(routers)
    if "smile.hub.gateway" in names:  # routes match in order: the hot /v1 paths first
        names.insert(0, names.pop(names.index("smile.hub.gateway")))
    for name in names:
        app.include_router(importlib.import_module(name).router)
    if "hub" in settings.module_list:  # MCP server at /mcp (its session manager runs in the app's lifespan)
        importlib.import_module("smile.hub.mcp_server").mount(app, settings)
    return app
