"""Accounts from the command line: `smile admin create-user` and the demo people (synchronous)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import create_engine, func, pool, select
from sqlalchemy.orm import Session

from smile.identity.models import ROLES, User
from smile.identity.rules import password_message, password_problems, username_problem
from smile.kit.db import sqlalchemy_url, utcnow
from smile.kit.security import hash_password

DEMO_PASSWORD = "Demo-password-2026"
FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Radia",
    "Tim",
    "Hedy",
    "John",
    "Frances",
    "Guido",
    "Sophie",
    "Yukihiro",
    "Anita",
    "Edsger",
    "Donald",
]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "McCarthy",
    "Allen",
    "van Rossum",
    "Wilson",
    "Matsumoto",
    "Borg",
    "Dijkstra",
    "Knuth",
]
BIOS = [
    "Builds things for the web.",
    "Mentor in data science.",
    "Learning Python one project at a time.",
    "Writes about AI and communities.",
    "Designer who codes.",
    "Open-source maintainer.",
    "Mentoring new developers on weekends.",
    "Product manager, curious about agents.",
    "",
]
LOCATIONS = ["Berlin", "Lagos", "São Paulo", "Bangkok", "Toronto", "Nairobi", "Lisbon", "Seoul", "", ""]


@contextmanager
def _session(url: str) -> Iterator[Session]:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool, hide_parameters=True)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def check_new_user(email: str, username: str, password: str, roles: list[str]) -> tuple[str, str, list[str]]:
    """Normalized (email, username, roles), or ValueError with a message a person can act on."""
    username = username.strip().lower()
    if problem := username_problem(username):
        raise ValueError(f"Username: {problem}")
    try:
        email = validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"Email: {exc}") from None
    if problems := password_problems(password, username=username, email=email):
        raise ValueError(password_message(problems))
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"Unknown role(s) {', '.join(sorted(unknown))}; choose from {', '.join(ROLES)}.")
    return email, username, [r for r in ROLES if r in set(roles) | {"user"}]


def create_user_sync(
    url: str, *, email: str, username: str, password: str, roles: list[str], display_name: str | None = None
) -> uuid.UUID:
    """Create a verified account; ValueError with a message a person can act on when input is bad."""
    email, username, roles = check_new_user(email, username, password, roles)
    with _session(url) as session, session.begin():
        taken = session.scalar(
            select(User.id).where((func.lower(User.email) == email.lower()) | (func.lower(User.username) == username))
        )
        if taken:
            raise ValueError("A user with this email or username already exists.")
        user = User(
            email=email,
            username=username,
            display_name=display_name or username,
            password_hash=hash_password(password),
            roles=roles,
            email_verified_at=utcnow(),
            terms_accepted_at=utcnow(),
        )
        session.add(user)
        session.flush()
        return user.id


def seed_people(url: str, users: int = 40) -> int:
    """Create demo people demo000… (password: Demo-password-2026) and demoadmin; existing ones are kept.

    Returns how many accounts were created.
    """
    rng = random.Random(42)
    names = [(first, last) for first in FIRST for last in LAST]
    rng.shuffle(names)
    created = 0
    with _session(url) as session:
        existing = set(session.scalars(select(User.username).where(User.username.like("demo%"))))
        wanted = [f"demo{i:03d}" for i in range(users)] + ["demoadmin"]
        if all(name in existing for name in wanted):
            return 0
        password_hash = hash_password(DEMO_PASSWORD)
        for i, username in enumerate(wanted[:-1]):
            if username in existing:
                continue
            first, last = names[i % len(names)]
            roles = ["user"] + (["creator"] if i % 5 == 1 else []) + (["mentor"] if i % 7 == 3 else [])
            session.add(
                User(
                    email=f"{username}@example.com",
                    username=username,
                    display_name=f"{first} {last}",
                    password_hash=password_hash,
                    roles=roles,
                    bio=BIOS[i % len(BIOS)],
                    location=LOCATIONS[i % len(LOCATIONS)],
                    email_verified_at=utcnow(),
                    terms_accepted_at=utcnow(),
                )
            )
            created += 1
        if "demoadmin" not in existing:
            session.add(
                User(
                    email="demoadmin@example.com",
                    username="demoadmin",
                    display_name="Demo Admin",
                    password_hash=password_hash,
                    roles=["user", "admin"],
                    bio="Runs this demo community.",
                    email_verified_at=utcnow(),
                    terms_accepted_at=utcnow(),
                )
            )
            created += 1
        session.commit()
    return created
