"""Demo data and account creation from the command line (synchronous, for the CLI)."""

from __future__ import annotations

import random
import uuid

from rich.progress import Progress
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from smile.identity.models import ROLES, User
from smile.identity.rules import password_message, password_problems, username_problem
from smile.kit.db import sqlalchemy_url, utcnow
from smile.kit.security import hash_password

DEMO_PASSWORD = "Demo-password-2026"
FIRST = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Radia",
         "Tim", "Hedy", "John", "Frances", "Guido", "Sophie", "Yukihiro", "Anita", "Edsger", "Donald"]
LAST = ["Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
        "Perlman", "Berners-Lee", "Lamarr", "McCarthy", "Allen", "van Rossum", "Wilson", "Matsumoto", "Borg",
        "Dijkstra", "Knuth"]
BIOS = ["Builds things for the web.", "Mentor in data science.", "Learning Python one project at a time.",
        "Writes about AI and communities.", "Designer who codes.", "Open-source maintainer.", ""]


def _engine(url: str):
    return create_engine(sqlalchemy_url(url))


def create_user_sync(url: str, *, email: str, username: str, password: str, roles: list[str],
                     display_name: str | None = None) -> uuid.UUID:
    username = username.strip().lower()
    if problem := username_problem(username):
        raise ValueError(problem)
    if problems := password_problems(password, username=username, email=email):
        raise ValueError(password_message(problems))
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"Unknown role(s) {', '.join(sorted(unknown))}; choose from {', '.join(ROLES)}.")
    with Session(_engine(url)) as session, session.begin():
        taken = session.scalar(select(User.id).where(
            (func.lower(User.email) == email.lower()) | (func.lower(User.username) == username)))
        if taken:
            raise ValueError("A user with this email or username already exists.")
        user = User(email=email, username=username, display_name=display_name or username,
                    password_hash=hash_password(password), roles=sorted(set(roles) | {"user"}),
                    email_verified_at=utcnow(), terms_accepted_at=utcnow())
        session.add(user)
        session.flush()
        return user.id


def seed_demo(url: str, users: int = 40) -> int:
    """Create demo people (password: Demo-password-2026); existing ones are kept."""
    rng = random.Random(42)
    password_hash = hash_password(DEMO_PASSWORD)
    created = 0
    with Session(_engine(url)) as session, Progress() as progress:
        task = progress.add_task("Seeding demo people", total=users)
        existing = set(session.scalars(select(User.username).where(User.username.like("demo%"))))
        for i in range(users):
            username = f"demo{i:03d}"
            if username not in existing:
                first, last = rng.choice(FIRST), rng.choice(LAST)
                roles = ["user"] + (["mentor"] if i % 7 == 3 else []) + (["creator"] if i % 5 == 1 else [])
                session.add(User(email=f"{username}@demo.smile.local", username=username,
                                 display_name=f"{first} {last}", password_hash=password_hash, roles=roles,
                                 bio=rng.choice(BIOS), email_verified_at=utcnow(), terms_accepted_at=utcnow()))
                created += 1
            progress.advance(task)
        if "demoadmin" not in existing:
            session.add(User(email="admin@demo.smile.local", username="demoadmin", display_name="Demo Admin",
                             password_hash=password_hash, roles=["user", "admin"], email_verified_at=utcnow(),
                             terms_accepted_at=utcnow()))
        session.commit()
    return created


def seed_if_empty(url: str) -> None:
    with Session(_engine(url)) as session:
        empty = session.scalar(select(func.count()).select_from(User)) == 0
    if empty:
        seed_demo(url)
