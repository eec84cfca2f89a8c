"""Cursor pagination: opaque cursors round-trip, bad ones are a clear 422, keyset pages over real rows."""

import uuid

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select
from sqlalchemy.dialects.postgresql import UUID

from smile.kit.db import sqlalchemy_url
from smile.kit.errors import Invalid
from smile.kit.ids import new_id
from smile.kit.pagination import decode_cursor, encode_cursor, keyset, page_of


def test_cursor_round_trip_is_url_safe():
    for _ in range(50):
        value = new_id()
        cursor = encode_cursor(value)
        assert "=" not in cursor and "/" not in cursor and "+" not in cursor
        assert decode_cursor(cursor) == value


@pytest.mark.parametrize("bad", ["", "not-a-cursor!", "abc", "AAAA", encode_cursor(uuid.uuid4()) + "AAAA"])
def test_invalid_cursor_is_invalid_with_field(bad):
    with pytest.raises(Invalid) as info:
        decode_cursor(bad)
    assert info.value.status == 422
    assert info.value.fields == {"cursor": "invalid"}
    assert "next_cursor" in info.value.message


def test_page_of_splits_and_points_at_last_item():
    rows = [type("Row", (), {"id": new_id()})() for _ in range(6)]
    page, cursor = page_of(rows, 5)
    assert page == rows[:5]
    assert decode_cursor(cursor) == rows[4].id
    page, cursor = page_of(rows[:5], 5)
    assert page == rows[:5] and cursor is None


def test_keyset_walks_real_rows_without_gaps_or_repeats(dsn):
    meta = MetaData()
    items = Table(
        "pagination_probe",
        meta,
        Column("id", UUID(as_uuid=True), primary_key=True),
        Column("n", Integer),
        prefixes=["TEMPORARY"],
    )
    engine = create_engine(sqlalchemy_url(dsn))
    ids = [new_id() for _ in range(45)]  # UUIDv7: creation order is id order
    try:
        with engine.connect() as conn:
            meta.create_all(conn)
            conn.execute(items.insert(), [{"id": value, "n": i} for i, value in enumerate(ids)])
            for newest_first, expected in ((True, ids[::-1]), (False, ids)):
                seen, cursor, sizes = [], None, []
                while True:
                    rows = conn.execute(keyset(select(items), items.c.id, cursor, 20, newest_first)).all()
                    page, cursor = page_of(list(rows), 20)
                    sizes.append(len(page))
                    seen.extend(row.id for row in page)
                    if cursor is None:
                        break
                assert sizes == [20, 20, 5]
                assert seen == expected
    finally:
        engine.dispose()
