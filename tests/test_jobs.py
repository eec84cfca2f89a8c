"""Transactional jobs on the live server's in-process worker: commit runs, rollback never exists."""

import time

import pytest
from procrastinate.periodic import PeriodicDeferrer
from sqlalchemy import text

from smile.kit import jobs, mail, runtime


class Rollback(Exception):
    pass


def _jobs_for(db, email_id: str) -> list[tuple[str, str, int]]:
    return db.execute(
        "SELECT task_name, status::text, attempts FROM procrastinate_jobs WHERE args->>'email_id' = %s", (email_id,)
    ).fetchall()


def _wait_job(db, email_id: str, status: str, timeout: float = 15) -> list:
    deadline = time.monotonic() + timeout
    while (rows := _jobs_for(db, email_id)) and rows[0][1] != status and time.monotonic() < deadline:
        time.sleep(0.05)
    return rows


async def _queue_email(to: str, fail: bool) -> dict:
    """mail.send in a unit of work that commits, or raises (and so rolls back)."""
    seen: dict = {}
    rt = runtime.current()
    async with rt.db.session() as session:
        email_id = await mail.send(session, to, "Transactional check", "Hello from a job.")
        seen["id"] = str(email_id)
        seen["inside"] = (
            await session.execute(
                text("SELECT count(*) FROM procrastinate_jobs WHERE args->>'email_id' = :id"), {"id": seen["id"]}
            )
        ).scalar_one()
        async with rt.db.engine.connect() as other:  # another connection cannot see it yet
            seen["outside"] = (
                await other.execute(
                    text("SELECT count(*) FROM procrastinate_jobs WHERE args->>'email_id' = :id"), {"id": seen["id"]}
                )
            ).scalar_one()
        if fail:
            raise Rollback(seen)
    return seen


def test_job_deferred_in_committed_transaction_runs(server, db, mailbox):
    seen = server.call(_queue_email("commit@example.com", fail=False))
    assert seen["inside"] == 1 and seen["outside"] == 0  # enqueued on the session's own connection
    assert mailbox.wait("commit@example.com", "Transactional")["status"] == "captured"
    rows = _wait_job(db, seen["id"], "succeeded")
    assert rows == [("mail.deliver", "succeeded", 1)]
    email = db.execute("SELECT status, attempts, sent_at FROM emails WHERE id = %s", (seen["id"],)).fetchone()
    assert email[0] == "captured" and email[1] == 1 and email[2] is not None


def test_job_deferred_in_rolled_back_transaction_never_exists(server, db):
    with pytest.raises(Rollback) as info:
        server.call(_queue_email("rollback@example.com", fail=True))
    seen = info.value.args[0]
    assert seen["inside"] == 1  # it was deferred inside the transaction...
    time.sleep(1.0)  # ...give a worker every chance to pick up anything that leaked
    assert _jobs_for(db, seen["id"]) == []
    assert db.execute("SELECT count(*) FROM emails WHERE id = %s", (seen["id"],)).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM emails WHERE \"to\" = 'rollback@example.com'").fetchone()[0] == 0


def test_delivery_job_is_idempotent(server, db, mailbox):
    seen = server.call(_queue_email("twice@example.com", fail=False))
    mailbox.wait("twice@example.com", "Transactional")
    server.call(mail.deliver.defer_async(email_id=seen["id"]))  # a duplicate run changes nothing
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        statuses = [r[1] for r in _jobs_for(db, seen["id"])]
        if statuses == ["succeeded", "succeeded"]:
            break
        time.sleep(0.05)
    assert statuses == ["succeeded", "succeeded"]
    assert db.execute("SELECT attempts FROM emails WHERE id = %s", (seen["id"],)).fetchone()[0] == 1


def test_periodic_tasks_are_registered_and_deferred_once(server, db):
    periodic = list(jobs.job_app.periodic_registry.periodic_tasks.values())
    assert periodic, "no periodic task registered (expected e.g. the GDPR erasure sweep)"
    for item in periodic:
        assert item.task.name in jobs.job_app.tasks  # the worker knows how to run it
        assert item.croniter.get_next(float) > time.time()
    # What the worker's periodic deferrer does at a cron tick, done now for each task's last tick
    # (however long ago: the worker itself only catches up on ticks from the last 10 minutes).
    deferrer = PeriodicDeferrer(jobs.job_app.periodic_registry, max_delay=float("inf"))
    now = time.time()
    server.call(deferrer.defer_jobs(deferrer.get_previous_tasks(at=now)))
    names = {item.task.name for item in periodic}
    defers = db.execute("SELECT task_name, job_id FROM procrastinate_periodic_defers").fetchall()
    assert {name for name, _ in defers} == names
    again = PeriodicDeferrer(jobs.job_app.periodic_registry, max_delay=float("inf"))  # a second worker
    server.call(again.defer_jobs(again.get_previous_tasks(at=now)))
    assert db.execute("SELECT count(*) FROM procrastinate_periodic_defers").fetchone()[0] == len(defers)
    job_ids = [job_id for _, job_id in defers]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        statuses = db.execute("SELECT status::text FROM procrastinate_jobs WHERE id = ANY(%s)", (job_ids,)).fetchall()
        if all(s == "succeeded" for (s,) in statuses):
            break
        time.sleep(0.05)
    assert statuses and all(s == "succeeded" for (s,) in statuses), statuses
