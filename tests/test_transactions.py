"""Who commits: the request wrapper, the unit of work of jobs and commands, and the paths docs/architecture.md
lists as owning their transactions (DESIGN.md, "Hot paths"). Any other `commit(...)` call is a defect."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "smile"

WRAPPERS = {
    "kit/db.py": "Database.session (the unit of work of jobs and commands) and kit.db.commit (the at-commit pipeline)",
    "kit/requests.py": "DBRoute, the request wrapper",
    "kit/mail.py": "the mail.deliver job keeps the SMTP error before it raises for a retry",
    "seed/accounts.py": "the demo seed command (people are made in one plain transaction)",
}
# The request paths that own their transactions: each is listed in docs/architecture.md with its reason.
OWN_TRANSACTIONS = {"ai/service.py", "hub/chat.py", "hub/embeddings_gateway.py"}


def committers() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name == "commit":
                    found.setdefault(path.relative_to(SRC).as_posix(), []).append(node.lineno)
    return found


def test_only_the_wrappers_and_the_listed_paths_commit():
    strays = {path: lines for path, lines in committers().items() if path not in set(WRAPPERS) | OWN_TRANSACTIONS}
    assert not strays, f"commit() outside the request wrapper and the listed paths: {strays}"


def test_every_path_that_owns_its_transactions_is_listed_with_its_reason():
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    section = architecture.split("## Paths that own their transactions", 1)[1].split("\n## ", 1)[0]
    for path in OWN_TRANSACTIONS:
        assert f"smile/{path}" in section or f"`{path}`" in section, path
    assert "docs/benchmarks.md" in section
