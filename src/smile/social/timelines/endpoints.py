"""JSON API: home, profile, hashtag and explore timelines."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from smile.identity.auth import DB, CurrentUser, OptionalUser
from smile.kit.errors import responses
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from smile.kit.requests import DBRoute
from smile.social.timelines import service
from smile.social.timelines.schemas import Timeline

router = APIRouter(prefix="/api/v1", route_class=DBRoute, tags=["social"])

Cursor = Annotated[str | None, Query(description="next_cursor from the previous page")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.get("/timelines/home", response_model=Timeline, responses=responses(401, 422))
async def home(principal: CurrentUser, db: DB, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Timeline:
    """Your posts and those of accounts you follow, newest first (muted and blocked accounts left out)."""
    return await service.home(db, principal.user, cursor, limit)


@router.get("/timelines/profile/{username}", response_model=Timeline, responses=responses(404, 422))
async def profile(
    username: str,
    principal: OptionalUser,
    db: DB,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    tab: Annotated[Literal["posts", "media", "likes"], Query()] = "posts",
) -> Timeline:
    """An account's posts you may see; pinned posts first on the first page."""
    return await service.profile(db, principal and principal.id, username, cursor, limit, tab)


@router.get("/timelines/tag/{tag}", response_model=Timeline, responses=responses(404, 422))
async def tag(
    tag: str, principal: OptionalUser, db: DB, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Timeline:
    """Posts with this hashtag, newest first."""
    return await service.tag(db, principal and principal.id, tag, cursor, limit)


@router.get("/timelines/explore", response_model=Timeline, responses=responses(422))
async def explore(principal: OptionalUser, db: DB, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Timeline:
    """Popular public posts of the last 48 hours (bounded to 200)."""
    return await service.explore(db, principal and principal.id, cursor, limit)
