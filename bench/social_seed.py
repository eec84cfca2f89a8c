"""Seed a fresh database with a social network at benchmark scale, in minutes.

Runnable alone:  .venv/bin/python bench/social_seed.py [--database smile_bench] [--data-dir /tmp/smile-bench]

Creates the database FRESH (dropped first if it exists) on SMILE_DATABASE_URL's server, or on
the embedded PostgreSQL under --data-dir; migrates it; bulk-loads with COPY:

- 10,000 people (one shared argon2 hash of the bench password; ~3 % private, ~1 % AI agents owned by a
  person) with a power-law follow graph: each follows a log-normal number of accounts (mean ≈ 36),
  picked by Zipf popularity (weight rank^-0.7), so a few accounts have thousands of followers;
- `star`, an account with exactly 50,000 followers: the people who picked it plus lightweight `fanNNNNNN`
  accounts (valid users that follow only `star`) making up the rest. It is the fan-out subject of
  bench/social_timeline.py; with the default social_fanout_max_followers (10,000) its posts are merged
  on read, so the home timelines of its followers exercise that path too;
- `caster`, followed by exactly 1,000 active people (the broadcast subject of bench/social_ws.py);
- 200,000 posts over the last 30 days, more from popular accounts (weight rank^-0.35), UUIDv7 ids built
  from created_at; hashtags and mentions rendered by smile.social.text; reactions and comments;
- blocks and mutes between people who do not follow each other;
- social_counts (accepted followers per account, which the follows trigger keeps) filled after the load;
- social_activity: 75 % of people active in the last 3 days, the rest 20–90 days ago; every fan active;
- timeline_entries for active people as fan-out on write (smile.social.timelines.fanout) leaves them:
  own posts plus followed accounts' visible non-mentioned posts, accounts above --fanout-max excluded,
  newest --timeline-depth (500, the rebuild bound) per person;
- then ANALYZE. Prints row counts and elapsed time per phase.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import random
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402 - bench/ is not a package
    DEFAULT_DATA_DIR,
    DOC,
    PASSWORD,
    ROOT,
    bench_database_url,
    machine,
    now_utc,
    write_doc,
)

console = Console()
BEGIN, END = "<!-- bench:social_seed:begin -->", "<!-- bench:social_seed:end -->"
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "coffee",
    "morning",
    "code",
    "review",
    "ship",
    "it",
    "today",
    "weekend",
    "rain",
    "sun",
    "music",
    "film",
    "book",
    "idea",
    "launch",
    "team",
    "design",
    "data",
    "model",
    "garden",
    "bike",
    "train",
    "city",
    "news",
    "story",
    "photo",
]
TAGS = [
    f"{w}"
    for w in (
        "python",
        "ai",
        "music",
        "coffee",
        "design",
        "travel",
        "books",
        "running",
        "cats",
        "photography",
        "food",
        "startup",
        "science",
        "art",
        "gaming",
        "news",
        "climate",
        "jazz",
    )
]
REACTION_KINDS = ["like"] * 6 + ["love", "laugh", "wow", "sad", "celebrate"]
STAR_FOLLOWERS, CASTER_FOLLOWERS = 50_000, 1_000


def uuid7_at(when: dt.datetime, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 whose 48-bit millisecond timestamp is `when` (so ids sort like created_at)."""
    ms = int(when.timestamp() * 1000)
    value = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62) | rng.getrandbits(62)
    return uuid.UUID(int=value)


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def copy_rows(conn: psycopg.Connection, table: str, columns: list[str], rows, total: int, label: str) -> int:
    """COPY rows into table with a progress bar; returns the count."""
    count = 0
    with progress() as bar, conn.cursor() as cur:
        task = bar.add_task(label, total=total)
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
                if count % 5000 == 0:
                    bar.update(task, completed=count)
        bar.update(task, completed=count)
    return count


def fresh_database(args: argparse.Namespace) -> str:
    url = bench_database_url(args.data_dir, "postgres")  # the maintenance database of the same server
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')
    from sqlalchemy.engine import make_url

    target = make_url(url).set(database=args.database).render_as_string(hide_password=False)
    from smile.kit import migrate

    migrate.upgrade(target)
    return target


class Seeder:
    def __init__(self, conn: psycopg.Connection, args: argparse.Namespace) -> None:
        self.conn, self.args = conn, args
        self.rng = random.Random(args.seed)
        self.now = dt.datetime.now(dt.UTC)
        self.people: list[uuid.UUID] = []  # index = person number
        self.names: list[str] = []
        self.follows: set[tuple[int, int]] = set()
        self.private: set[int] = set()
        self.star = self.caster = None

    def _user(self, uid, username, display, created, account_type="person", owner=None, private=False):
        return (
            uid,
            f"{username}@bench.example.com",
            username,
            display,
            self.pw_hash,
            account_type,
            "{user}",
            "active",
            owner,
            created,
            created,
            created,
            "",
            "[]",
            "",
            "en",
            "UTC",
            private,
            "everyone",
            False,
            True,
            created,
        )

    def users(self) -> int:
        from smile.kit.security import hash_password

        self.pw_hash = hash_password(PASSWORD)
        rng, n = self.rng, self.args.users
        made = [(self.now - dt.timedelta(days=rng.uniform(31, 400))) for _ in range(n + 2)]
        made.sort()
        self.people = [uuid7_at(t, rng) for t in made[:n]]
        self.names = [f"user{i:05d}" for i in range(n)]
        self.private = set(rng.sample(range(n), n * 3 // 100))
        agents = set(rng.sample(range(n), n // 100)) - self.private
        self.star, self.caster = uuid7_at(made[n], rng), uuid7_at(made[n + 1], rng)

        def rows():
            for i, uid in enumerate(self.people):
                owner = self.people[(i + 1) % n] if i in agents else None
                yield self._user(
                    uid,
                    self.names[i],
                    f"Person {i}" + (" Bot" if owner else ""),
                    made[i],
                    "ai_agent" if owner else "person",
                    owner,
                    i in self.private,
                )
            yield self._user(self.star, "star", "The Star", made[n])
            yield self._user(self.caster, "caster", "Broadcaster", made[n + 1])
            for j, (fid, created) in enumerate(self.fans):
                yield self._user(fid, f"fan{j:06d}", f"Fan {j}", created)

        self.graph()
        fan_times = sorted(self.now - dt.timedelta(days=rng.uniform(1, 60)) for _ in range(self.fans_needed))
        self.fans = [(uuid7_at(t, rng), t) for t in fan_times]
        cols = [
            "id",
            "email",
            "username",
            "display_name",
            "password_hash",
            "account_type",
            "roles",
            "status",
            "owner_id",
            "email_verified_at",
            "terms_accepted_at",
            "updated_at",
            "bio",
            "links",
            "location",
            "language",
            "timezone",
            "is_private",
            "who_can_message",
            "discoverable_by_email",
            "is_adult",
            "created_at",
        ]
        return copy_rows(self.conn, "users", cols, rows(), n + 2 + self.fans_needed, "users")

    def graph(self) -> None:
        """Who follows whom among people (Zipf popularity), and who follows star and caster."""
        rng, n = self.rng, self.args.users
        ranks = list(range(n))
        rng.shuffle(ranks)
        self.rank = ranks
        cum = list(itertools.accumulate(1 / (r + 1) ** 0.7 for r in ranks))
        for u in range(n):
            k = max(3, min(2000, int(rng.lognormvariate(3.2, 0.9))))
            picks = dict.fromkeys(rng.choices(range(n), cum_weights=cum, k=int(k * 1.3) + 2))
            picks.pop(u, None)
            self.follows.update((u, v) for v in list(picks)[:k])
        self.active = set(rng.sample(range(n), n * 3 // 4))
        self.star_people = [u for u in sorted(self.active) if rng.random() < 0.2]  # all 50,000 followers active
        self.caster_people = rng.sample(sorted(self.active), min(CASTER_FOLLOWERS, len(self.active)))
        self.fans_needed = STAR_FOLLOWERS - len(self.star_people)
        self.fans_needed = max(0, self.fans_needed) if self.args.fans else 0

    def follow_rows(self) -> int:
        rng = self.rng
        ids = self.people

        def rows():
            for u, v in sorted(self.follows):
                status = "pending" if v in self.private and rng.random() < 0.1 else "accepted"
                yield ids[u], ids[v], status, self.now - dt.timedelta(days=rng.uniform(31, 300))
            for u in self.star_people:
                yield ids[u], self.star, "accepted", self.now - dt.timedelta(days=40)
            for u in self.caster_people:
                yield ids[u], self.caster, "accepted", self.now - dt.timedelta(days=40)
            for fid, _ in self.fans:
                yield fid, self.star, "accepted", self.now - dt.timedelta(days=31)

        total = len(self.follows) + len(self.star_people) + len(self.caster_people) + self.fans_needed
        count = copy_rows(
            self.conn, "follows", ["follower_id", "followee_id", "status", "created_at"], rows(), total, "follows"
        )
        # The follows trigger keeps social_counts; it does not fire while triggers are off for the load.
        self.conn.execute("DELETE FROM social_counts")
        self.conn.execute("""INSERT INTO social_counts (user_id, followers)
            SELECT followee_id, count(*) FROM follows WHERE status = 'accepted' GROUP BY followee_id""")
        return count

    def posts(self) -> int:
        from smile.social.text import render

        rng, n, days = self.rng, self.args.users, self.args.days
        cum = list(itertools.accumulate(1 / (r + 1) ** 0.35 for r in self.rank))
        authors = rng.choices(range(n), cum_weights=cum, k=self.args.posts)
        stamped = sorted((self.now - dt.timedelta(seconds=rng.uniform(60, days * 86400)), a) for a in authors)
        stamped += [(self.now - dt.timedelta(days=days * i / 30), -1) for i in range(30, 0, -1)]  # star posts
        stamped.sort()
        self.post_ids, self.post_authors, self.tags, self.mentions = [], [], [], []
        self.post_times = [when for when, _ in stamped]

        def rows():
            for when, a in stamped:
                pid = uuid7_at(when, rng)
                words = rng.choices(WORDS, k=rng.randint(5, 30))
                if rng.random() < 0.2:
                    words.insert(rng.randrange(len(words)), "#" + rng.choice(TAGS))
                if rng.random() < 0.05:
                    words.insert(0, "@" + self.names[rng.randrange(n)])
                body = " ".join(words)
                html, mentioned, tags = render(body)
                self.tags += [(pid, t) for t in tags]
                self.mentions += [(pid, self.people[int(m[4:])]) for m in mentioned if m[4:].isdigit()]
                author = self.star if a < 0 else self.people[a]
                visibility = "followers" if rng.random() < 0.08 else "public"
                self.post_ids.append(pid)
                self.post_authors.append(a)
                yield pid, author, body, html, visibility, "visible", when

        count = copy_rows(
            self.conn,
            "posts",
            ["id", "author_id", "body", "body_html", "visibility", "status", "created_at"],
            rows(),
            len(stamped),
            "posts",
        )
        copy_rows(self.conn, "post_hashtags", ["post_id", "tag"], iter(self.tags), len(self.tags), "post_hashtags")
        copy_rows(
            self.conn, "post_mentions", ["post_id", "user_id"], iter(self.mentions), len(self.mentions), "post_mentions"
        )
        return count

    def engagement(self) -> int:
        rng, n = self.rng, self.args.users
        weights = list(itertools.accumulate(1.0 + 3 * (a < 0 or self.rank[a] < 100) for a in self.post_authors))
        picks = rng.choices(range(len(self.post_ids)), cum_weights=weights, k=self.args.posts * 3 // 2)
        pairs = dict.fromkeys((p, rng.randrange(n)) for p in picks)
        rows = ((self.post_ids[p], self.people[u], rng.choice(REACTION_KINDS), self.now) for p, u in pairs)
        count = copy_rows(
            self.conn, "reactions", ["post_id", "user_id", "kind", "created_at"], rows, len(pairs), "reactions"
        )
        picks = rng.choices(range(len(self.post_ids)), cum_weights=weights, k=self.args.posts // 4)

        def comments():
            for p in picks:
                body = " ".join(rng.choices(WORDS, k=rng.randint(3, 15)))
                when = min(self.now, self.post_times[p] + dt.timedelta(seconds=rng.uniform(10, 86400)))
                yield uuid7_at(when, rng), self.post_ids[p], self.people[rng.randrange(n)], body, body, "visible", when

        count += copy_rows(
            self.conn,
            "comments",
            ["id", "post_id", "author_id", "body", "body_html", "status", "created_at"],
            comments(),
            len(picks),
            "comments",
        )
        self.conn.execute("""
            UPDATE posts p SET reactions_count = r.c FROM (SELECT post_id, count(*) c FROM reactions GROUP BY 1) r
            WHERE r.post_id = p.id""")
        self.conn.execute("""
            UPDATE posts p SET comments_count = r.c FROM (SELECT post_id, count(*) c FROM comments GROUP BY 1) r
            WHERE r.post_id = p.id""")
        return count

    def blocks_mutes(self) -> int:
        rng, n, rows = self.rng, self.args.users, {}
        while len(rows) < 2000:
            a, b = rng.randrange(n), rng.randrange(n)
            if a != b and (a, b) not in self.follows and (b, a) not in self.follows:
                rows[(a, b)] = None
        pairs = list(rows)
        count = copy_rows(
            self.conn,
            "blocks",
            ["blocker_id", "blocked_id", "created_at"],
            ((self.people[a], self.people[b], self.now) for a, b in pairs[:1000]),
            1000,
            "blocks",
        )
        return count + copy_rows(
            self.conn,
            "mutes",
            ["muter_id", "muted_id", "created_at"],
            ((self.people[a], self.people[b], self.now) for a, b in pairs[1000:]),
            1000,
            "mutes",
        )

    def activity(self) -> int:
        rng = self.rng

        def rows():
            for i, uid in enumerate(self.people):
                if i in self.active:
                    yield uid, self.now - dt.timedelta(minutes=rng.uniform(0, 3 * 1440)), self.now
                else:
                    away = self.now - dt.timedelta(days=rng.uniform(20, 90))
                    yield uid, away, away
            for uid in (self.star, self.caster):
                yield uid, self.now, self.now
            for fid, _ in self.fans:
                yield fid, self.now - dt.timedelta(minutes=rng.uniform(0, 60)), self.now

        return copy_rows(
            self.conn,
            "social_activity",
            ["user_id", "last_active_at", "timeline_built_at"],
            rows(),
            len(self.people) + 2 + self.fans_needed,
            "social_activity",
        )


TIMELINE_SQL = """
INSERT INTO timeline_entries (user_id, post_id, author_id)
SELECT u.id, t.id, t.author_id FROM unnest(%(users)s::uuid[]) AS u(id)
CROSS JOIN LATERAL (
  SELECT q.id, q.author_id FROM (
    SELECT p.id, p.author_id FROM follows f
    CROSS JOIN LATERAL (SELECT id, author_id FROM posts
                        WHERE author_id = f.followee_id AND status = 'visible' AND deleted_at IS NULL
                          AND visibility <> 'mentioned' ORDER BY id DESC LIMIT %(depth)s) p
    WHERE f.follower_id = u.id AND f.status = 'accepted' AND f.followee_id <> ALL(%(large)s::uuid[])
    UNION ALL
    (SELECT id, author_id FROM posts WHERE author_id = u.id ORDER BY id DESC LIMIT %(depth)s)
  ) q ORDER BY q.id DESC LIMIT %(depth)s
) t
"""


def timelines(url: str, args: argparse.Namespace, replica: bool) -> int:
    """Fan-out as it would have happened, for active people, in chunks on parallel connections."""
    with psycopg.connect(url, autocommit=True) as conn:
        large = [
            r[0] for r in conn.execute("SELECT user_id FROM social_counts WHERE followers > %s", (args.fanout_max,))
        ]
        users = [
            r[0]
            for r in conn.execute(
                "SELECT a.user_id FROM social_activity a JOIN users u ON u.id = a.user_id "
                "WHERE a.last_active_at > now() - make_interval(days => %s) AND u.username NOT LIKE 'fan%%' "
                "ORDER BY 1",
                (args.active_days,),
            )
        ]
    chunks = [users[i : i + 200] for i in range(0, len(users), 200)]

    def work(chunk: list[uuid.UUID]) -> int:
        with psycopg.connect(url, autocommit=True) as conn:
            if replica:
                conn.execute("SET session_replication_role = replica")
            return conn.execute(TIMELINE_SQL, {"users": chunk, "depth": args.timeline_depth, "large": large}).rowcount

    total = 0
    with progress() as bar, ThreadPoolExecutor(max_workers=args.jobs) as pool:
        task = bar.add_task("timeline_entries", total=len(users))
        for chunk, inserted in zip(chunks, pool.map(work, chunks), strict=True):
            total += inserted
            bar.advance(task, len(chunk))
    return total


def drop_indexes(conn: psycopg.Connection, table: str) -> list[str]:
    """Drop the indexes of `table` that back no constraint; return their definitions to recreate them."""
    rows = conn.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
    """,
        (table,),
    ).fetchall()
    for name, _ in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="smile_bench", help="database to create (dropped first if it exists)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="embedded PostgreSQL home (ignored when SMILE_DATABASE_URL is set)",
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--no-fans",
        dest="fans",
        action="store_false",
        help="skip the lightweight accounts that give `star` 50,000 followers",
    )
    parser.add_argument("--fanout-max", type=int, default=10_000, help="as SMILE_SOCIAL_FANOUT_MAX_FOLLOWERS")
    parser.add_argument("--active-days", type=int, default=14, help="as SMILE_SOCIAL_FANOUT_ACTIVE_DAYS")
    parser.add_argument("--timeline-depth", type=int, default=500, help="entries kept per home timeline")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel connections for fan-out")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    seed(args)


def report(
    args: argparse.Namespace, timings: list[tuple[str, float, int]], counts: dict[str, int], total: float, load: float
) -> str:
    database = "external" if os.environ.get("SMILE_DATABASE_URL") else "embedded"
    command = " ".join([".venv/bin/python", "bench/social_seed.py", *sys.argv[1:]])
    return "\n".join(
        [
            BEGIN,
            "## Social: seeding the benchmark database",
            "",
            f"- Date: {now_utc()}",
            f"- Machine: {machine()}; 1-minute load average {load:.2f} when the run started",
            f"- Command: `{command}` ({database} PostgreSQL)",
            f"- Shape: {args.users:,} people follow a log-normal number of accounts (mean ≈ 36) picked by Zipf "
            "popularity (rank^-0.7), so a few have thousands of followers; `star` has exactly 50,000 followers "
            "(the people who picked it plus lightweight `fan…` accounts that follow only it, all active); "
            f"`caster` has 1,000 active followers; {args.posts:,} posts over {args.days} days, more from popular "
            "accounts (rank^-0.35), UUIDv7 ids built from created_at; 75 % of people active in the last 3 days; "
            "timeline_entries as fan-out on write leaves them for active people (own posts and followed accounts' "
            f"posts, accounts above {args.fanout_max:,} followers merged on read instead), newest "
            f"{args.timeline_depth} per person. Loaded with COPY, foreign-key triggers off and secondary indexes "
            "built after the load.",
            "",
            "| phase | rows | seconds |",
            "|---|---:|---:|",
            *(f"| {name} | {rows:,} | {seconds:.1f} |" for name, seconds, rows in timings),
            "",
            "| table | rows |",
            "|---|---:|",
            *(f"| {name} | {rows:,} |" for name, rows in counts.items()),
            "",
            f"**Seeded in {total:.0f} s.**",
            END,
        ]
    )


def seed(args: argparse.Namespace) -> str:
    """Build the database; returns its SQLAlchemy URL."""
    timings: list[tuple[str, float, int]] = []
    started, load = time.perf_counter(), os.getloadavg()[0]

    def phase(name: str, fn) -> None:
        t = time.perf_counter()
        rows = fn()
        timings.append((name, time.perf_counter() - t, rows))
        console.print(f"[green]✓[/] {name}: {rows:,} rows in {time.perf_counter() - t:.1f} s")

    where = "SMILE_DATABASE_URL's server" if os.environ.get("SMILE_DATABASE_URL") else f"embedded, {args.data_dir}"
    console.print(f"seeding database [bold]{args.database}[/] ({where})")
    url = ""

    def create() -> int:
        nonlocal url
        url = fresh_database(args)
        return 0

    phase("create + migrate", create)
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, autocommit=True) as conn:
        try:  # skip FK triggers while bulk-loading generated, consistent rows (needs superuser)
            conn.execute("SET session_replication_role = replica")
            replica = True
        except psycopg.errors.InsufficientPrivilege:
            replica = False
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        saved = {
            t: drop_indexes(conn, t)
            for t in ("users", "follows", "posts", "reactions", "comments", "timeline_entries", "social_activity")
        }
        s = Seeder(conn, args)
        phase("users", s.users)
        phase("follows", s.follow_rows)
        phase("posts", s.posts)
        phase("reactions + comments", s.engagement)
        phase("blocks + mutes", s.blocks_mutes)
        phase("social_activity", s.activity)

        def reindex(tables: list[str]) -> int:
            for table in tables:
                for definition in saved[table]:
                    conn.execute(definition)
            conn.execute(f"ANALYZE {', '.join(tables)}")
            return sum(len(saved[t]) for t in tables)

        phase("indexes", lambda: reindex([t for t in saved if t != "timeline_entries"]))
        phase("timeline_entries", lambda: timelines(libpq, args, replica))
        phase("timeline index", lambda: reindex(["timeline_entries"]))

        def analyze() -> int:
            conn.execute("VACUUM (ANALYZE)")
            return 0

        phase("vacuum + analyze", analyze)
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in (
                "users",
                "follows",
                "social_counts",
                "posts",
                "post_hashtags",
                "post_mentions",
                "reactions",
                "comments",
                "blocks",
                "mutes",
                "social_activity",
                "timeline_entries",
            )
        }
    total = time.perf_counter() - started
    table = Table("table", "rows", title=f"{args.database}: seeded in {total:.0f} s")
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    if not getattr(args, "no_write", True):
        write_doc(report(args, timings, counts, total, load), BEGIN, END)
        console.print(f"wrote {DOC.relative_to(ROOT)}")
    return url


if __name__ == "__main__":
    main()
