"""Validation rules for account fields, shared by signup, the CLI and admin tools."""

from __future__ import annotations

import re

USERNAME_RE = re.compile(r"^[a-z0-9_]{3,30}$")
RESERVED_USERNAMES = frozenset(
    {
        "admin",
        "root",
        "api",
        "static",
        "media",
        "login",
        "logout",
        "register",
        "settings",
        "support",
        "system",
        "smile",
        "dev",
        "help",
        "about",
        "me",
        "www",
        "mail",
        "null",
        "undefined",
    }
)
MIN_PASSWORD = 10
MAX_PASSWORD = 128


def username_problem(username: str) -> str | None:
    if not USERNAME_RE.match(username):
        return "Usernames are 3–30 characters of a–z, 0–9 and _ (lowercase)."
    if username in RESERVED_USERNAMES:
        return "This username is reserved; choose another."
    return None


def password_problems(password: str, *, username: str = "", email: str = "") -> list[str]:
    """Every strength rule the password breaks, named so the person can fix it."""
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        problems.append(f"at most {MAX_PASSWORD} characters")
    if not re.search(r"[a-z]", password) or not re.search(r"[A-Z]", password):
        problems.append("both lowercase and uppercase letters")
    if not re.search(r"\d", password):
        problems.append("at least one digit")
    lowered = password.lower()
    if (username and len(username) >= 3 and username.lower() in lowered) or (
        email and email.split("@")[0].lower() in lowered and len(email.split("@")[0]) >= 3
    ):
        problems.append("not containing your username or email")
    if len(set(password)) < 5:
        problems.append("at least 5 different characters")
    return problems


def password_message(problems: list[str]) -> str:
    return "Password must have " + ", ".join(problems) + "."
