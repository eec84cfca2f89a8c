"""Search API: people, posts and hashtags; visibility and blocks respected."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from smile.identity.auth import DB, OptionalUser
from smile.kit.errors import responses
from smile.kit.pagination import Page
from smile.kit.requests import DBRoute
from smile.social.posts.schemas import PostOut
from smile.social.search import service
from smile.social.search.schemas import HashtagOut, PersonOut

router = APIRouter(prefix="/api/v1", route_class=DBRoute, tags=["social"])

Q = Annotated[str, Query(max_length=service.MAX_QUERY, description="What to search for (required).")]
Cursor = Annotated[str | None, Query(description="next_cursor from the previous page.")]
Limit = Annotated[int, Query(ge=1, le=100)]


@router.get("/search/people", response_model=Page[PersonOut], responses=responses(422))
async def search_people(
    db: DB, viewer: OptionalUser, q: Q = "", cursor: Cursor = None, limit: Limit = 20
) -> Page[PersonOut]:
    """Accounts by username or display name, typo-tolerant; exact prefix matches first."""
    return await service.people_page(db, viewer.id if viewer else None, q, cursor, limit)


@router.get("/search/posts", response_model=Page[PostOut], responses=responses(422))
async def search_posts(
    db: DB, viewer: OptionalUser, q: Q = "", cursor: Cursor = None, limit: Limit = 20
) -> Page[PostOut]:
    """Posts you may see, full-text (websearch syntax: words, "a phrase", -not, or), best match first."""
    return await service.posts_page(db, viewer.id if viewer else None, q, cursor, limit)


@router.get("/search/hashtags", response_model=Page[HashtagOut], responses=responses(422))
async def search_hashtags(db: DB, q: Q = "", cursor: Cursor = None, limit: Limit = 20) -> Page[HashtagOut]:
    """Hashtags starting with `q` (with or without '#'), most used in recent public posts first."""
    return await service.hashtags_page(db, q, cursor, limit)
