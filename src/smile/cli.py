"""The `smile` command line."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from smile import __version__

app = typer.Typer(help="smile: self-hostable, AI-native community platform.", no_args_is_help=True)
admin_app = typer.Typer(help="Administrative tasks.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
ledger_app = typer.Typer(help="The money ledger.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
console = Console(stderr=True)


def load_settings():
    from smile.config import get_settings
    from smile.doctor import config_errors

    try:
        return get_settings()
    except ValidationError as exc:
        console.print("[bold red]Invalid configuration:[/]")
        for name, message in config_errors(exc):
            console.print(f"  {name}: {message}", markup=False)
        raise typer.Exit(2) from None


def database_url(settings) -> str:
    from smile.kit import embedded, runtime

    try:
        return runtime.resolve_database_url(settings)
    except embedded.EmbeddedError as exc:
        console.print(f"[bold red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None


def exit_on_sigterm() -> None:
    """Make SIGTERM (what systemd, Docker and Kubernetes send) end the process like a normal exit.

    uvicorn stops gracefully on SIGTERM, then raises it again; Python's default action for SIGTERM ends
    the process on the spot, skipping the atexit hook by which the embedded PostgreSQL's last user stops
    it. SIGINT already unwinds (KeyboardInterrupt)."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))


def ready_database(settings) -> str:
    """The database URL, migrated in embedded/dev mode; in prod, refuse when migrations are pending."""
    from sqlalchemy.exc import OperationalError

    from smile.kit import migrate as migrations

    url = database_url(settings)
    try:
        if not settings.database_url or settings.is_dev:
            migrations.upgrade(url)
        elif todo := migrations.pending(url):
            console.print(f"[bold red]Pending migrations: {', '.join(todo)}.[/] Run `smile migrate` first.")
            raise typer.Exit(1)
    except OperationalError as exc:
        console.print(f"[bold red]Cannot reach the database:[/] {escape(str(exc.orig or exc))}")
        console.print("Run `smile doctor` to see what is wrong.")
        raise typer.Exit(1) from None
    return url


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""
    from sqlalchemy.exc import OperationalError

    from smile.kit import migrate as migrations

    settings = load_settings()
    url = database_url(settings)
    try:
        todo = migrations.pending(url)
        migrations.upgrade(url)
        current = ", ".join(migrations.applied(url))
    except OperationalError as exc:
        console.print(f"[bold red]Cannot reach the database:[/] {escape(str(exc.orig or exc))}")
        raise typer.Exit(1) from None
    if todo:
        console.print(f"[green]Applied {len(todo)} migration(s): {', '.join(todo)}.[/] Database is at {current}.")
    else:
        console.print(f"[green]Nothing to do: the database is current ({current}).[/]")


@app.command("train-classifier")
def train_classifier() -> None:
    """Train the moderation classifier into the data dir unless stored there (web processes then only read it)."""
    from smile.ai import moderation

    settings = load_settings()
    try:
        console.print(moderation.prepare(settings), markup=False)
    except Exception as exc:  # noqa: BLE001 - say what failed; web processes train it themselves then
        console.print(f"[bold red]Moderation classifier not stored:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Web server processes.", min=1)] = 1,
    seed_demo: Annotated[bool, typer.Option("--seed-demo", help="Seed demo data on an empty database.")] = False,
) -> None:
    """Serve the web app and API (with an in-process job worker unless SMILE_RUN_WORKER=0)."""
    import uvicorn

    exit_on_sigterm()
    settings = load_settings()
    url = ready_database(settings)
    embedded_mode = not settings.database_url
    if seed_demo:
        from smile.seed import seed_if_empty

        seed_if_empty(url, settings)
    if workers > 1:
        os.environ["SMILE_DATABASE_URL"] = url  # worker processes reuse the server resolved here
    console.print(
        f"smile {__version__} on http://{host}:{port} ({'embedded' if embedded_mode else 'external'} PostgreSQL)"
    )
    uvicorn.run(
        "smile.app:create_app", factory=True, host=host, port=port, workers=workers, log_config=None, proxy_headers=True
    )


@app.command()
def worker(concurrency: Annotated[int, typer.Option(min=1, max=64)] = 4) -> None:
    """Run a background job worker (for deployments with SMILE_RUN_WORKER=0 on web processes)."""
    from smile.app import load_tasks
    from smile.kit import jobs, runtime
    from smile.kit.observability import configure_logging

    exit_on_sigterm()
    settings = load_settings()
    configure_logging(settings.json_logs, settings.log_level)
    load_tasks(settings)
    rt = runtime.start(settings, database_url(settings))

    async def run() -> None:
        async with jobs.job_app.open_async():
            restart = rt.restarter and rt.restarter.trigger
            task = asyncio.create_task(
                jobs.run_worker(restart, concurrency=concurrency, name="worker", install_signal_handlers=False)
            )
            for sig in (signal.SIGINT, signal.SIGTERM):  # cancelling stops the worker gracefully
                asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(run())


@app.command()
def seed(users: Annotated[int, typer.Option(min=1, max=100000, help="Demo people to create.")] = 40) -> None:
    """Seed a demo community (idempotent: skips existing demo users)."""
    from smile.seed import DEMO_PASSWORD, seed_demo

    settings = load_settings()
    url = ready_database(settings)
    created = seed_demo(url, users, settings, console)
    console.print(
        f"[green]Created {created} demo account(s)[/] ({users + 1 - created} already there). "
        f"Sign in as demo001 (or any demo000 … demo{users - 1:03d}, or demoadmin) with the password "
        f"{DEMO_PASSWORD}."
    )


@app.command()
def doctor() -> None:
    """Check database, extensions, migrations, configuration and outbound services."""
    from smile.doctor import run_checks

    raise typer.Exit(run_checks(Console()))


@admin_app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(prompt=True)],
    username: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    role: Annotated[list[str], typer.Option(help="Role, repeat for several: user, creator, mentor, admin.")] = (
        "user",
    ),
    display_name: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a verified account with the given roles."""
    from smile.seed import check_new_user, create_user_sync

    settings = load_settings()
    try:
        _, name, roles = check_new_user(email, username, password, [r.strip().lower() for r in role])
        user_id = create_user_sync(
            ready_database(settings),
            email=email,
            username=username,
            password=password,
            roles=roles,
            display_name=display_name,
        )
    except ValueError as exc:
        console.print(f"[bold red]Cannot create the user:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    console.print(f"[green]Created {name} ({', '.join(roles)}), id {user_id}.[/] The email address is marked verified.")
    if "admin" in roles:
        console.print(
            "Admins must turn on two-factor authentication (Settings → Security) before the admin tools open."
        )


@ledger_app.command("verify")
def ledger_verify() -> None:
    """Check every ledger invariant; exit 1 naming each violation."""
    from smile.billing.ledger.verify import CHECKS, verify
    from smile.kit.db import Database

    settings = load_settings()
    url = ready_database(settings)

    async def run():
        db = Database(url, pool_size=1)
        try:
            async with db.session() as session:
                return await verify(session)
        finally:
            await db.dispose()

    violations = asyncio.run(run())
    out = Console()
    for name, (rule, _) in CHECKS.items():
        bad = [v for v in violations if v.check == name]
        mark = "[red]FAIL[/]" if bad else "[green]ok[/]"
        out.print(f"{mark}  {name}: {rule}")
        for v in bad:
            out.print(f"      {v.subject}: {v.detail}", markup=False)
    if violations:
        out.print(f"[bold red]{len(violations)} violation(s).[/]")
        raise typer.Exit(1)
    out.print("[bold green]The ledger is consistent.[/]")


if __name__ == "__main__":
    app()
