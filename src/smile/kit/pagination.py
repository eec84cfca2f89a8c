"""Cursor pagination over time-sortable (UUIDv7) ids."""

from __future__ import annotations

import base64
import uuid
from typing import Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select

from smile.kit.errors import Invalid

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(value: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(value.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (ValueError, TypeError):
        raise Invalid(
            "The cursor is not valid; use next_cursor from a previous page.", fields={"cursor": "invalid"}
        ) from None


def keyset(stmt: Select, id_column, cursor: str | None, limit: int, newest_first: bool = True) -> Select:
    """Apply keyset pagination: fetch limit+1 rows after the cursor."""
    if cursor:
        after = decode_cursor(cursor)
        stmt = stmt.where(id_column < after if newest_first else id_column > after)
    order = id_column.desc() if newest_first else id_column.asc()
    return stmt.order_by(order).limit(limit + 1)


def page_of(rows: list, limit: int, id_of=lambda row: row.id) -> tuple[list, str | None]:
    """Split limit+1 fetched rows into a page and the next cursor."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(id_of(rows[-1]))
    return rows, None
