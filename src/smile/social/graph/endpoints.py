"""JSON API: follow, follow requests, followers lists, block, mute, profiles and reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from smile.identity.auth import DB, CurrentUser, OptionalUser, VerifiedUser
from smile.kit.errors import responses
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from smile.kit.requests import DBRoute
from smile.social.graph import service
from smile.social.graph.schemas import AccountPage, FollowStatus, ProfileOut, Relationship, ReportIn, ReportOut

router = APIRouter(prefix="/api/v1", route_class=DBRoute, tags=["social"])

Cursor = Annotated[str | None, Query(description="next_cursor from the previous page")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.post("/users/{username}/follow", response_model=FollowStatus, responses=responses(401, 404, 409, 422))
async def follow(username: str, principal: VerifiedUser, db: DB) -> FollowStatus:
    """Follow a public account, or request to follow a private one (status pending)."""
    return FollowStatus(status=await service.follow(db, principal.user, username))


@router.delete("/users/{username}/follow", status_code=204, responses=responses(401, 404))
async def unfollow(username: str, principal: CurrentUser, db: DB) -> Response:
    """Unfollow, or cancel a pending request."""
    await service.unfollow(db, principal.user, username)
    return Response(status_code=204)


@router.get("/follow-requests", response_model=AccountPage, responses=responses(401))
async def follow_requests(
    principal: CurrentUser, db: DB, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> AccountPage:
    return await service.follow_requests(db, principal.user, cursor, limit)


@router.post("/follow-requests/{username}/approve", status_code=204, responses=responses(401, 404))
async def approve_request(username: str, principal: CurrentUser, db: DB) -> Response:
    await service.answer_request(db, principal.user, username, approve=True)
    return Response(status_code=204)


@router.post("/follow-requests/{username}/deny", status_code=204, responses=responses(401, 404))
async def deny_request(username: str, principal: CurrentUser, db: DB) -> Response:
    await service.answer_request(db, principal.user, username, approve=False)
    return Response(status_code=204)


@router.get("/users/{username}/followers", response_model=AccountPage, responses=responses(404))
async def followers(
    username: str, principal: OptionalUser, db: DB, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> AccountPage:
    """Accepted followers; a private account's lists are shown only to its followers."""
    return await service.followers(db, principal and principal.id, username, cursor, limit)


@router.get("/users/{username}/following", response_model=AccountPage, responses=responses(404))
async def following(
    username: str, principal: OptionalUser, db: DB, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> AccountPage:
    return await service.followers(db, principal and principal.id, username, cursor, limit, following=True)


@router.post("/users/{username}/block", status_code=204, responses=responses(401, 404, 422))
async def block(username: str, principal: CurrentUser, db: DB) -> Response:
    """Block: removes follows and requests both ways and hides each other's content."""
    await service.block(db, principal.user, username)
    return Response(status_code=204)


@router.delete("/users/{username}/block", status_code=204, responses=responses(401, 404))
async def unblock(username: str, principal: CurrentUser, db: DB) -> Response:
    await service.unblock(db, principal.user, username)
    return Response(status_code=204)


@router.get("/blocks", response_model=AccountPage, responses=responses(401))
async def blocks(principal: CurrentUser, db: DB, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> AccountPage:
    return await service.blocked_accounts(db, principal.user, cursor, limit)


@router.post("/users/{username}/mute", status_code=204, responses=responses(401, 404, 422))
async def mute(username: str, principal: CurrentUser, db: DB) -> Response:
    """Mute: their posts leave your home timeline; their profile stays reachable."""
    await service.mute(db, principal.user, username, on=True)
    return Response(status_code=204)


@router.delete("/users/{username}/mute", status_code=204, responses=responses(401, 404))
async def unmute(username: str, principal: CurrentUser, db: DB) -> Response:
    await service.mute(db, principal.user, username, on=False)
    return Response(status_code=204)


@router.get("/mutes", response_model=AccountPage, responses=responses(401))
async def mutes(principal: CurrentUser, db: DB, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> AccountPage:
    return await service.muted_accounts(db, principal.user, cursor, limit)


@router.get("/users/{username}/relationship", response_model=Relationship, responses=responses(401, 404))
async def relationship(username: str, principal: CurrentUser, db: DB) -> Relationship:
    return await service.relationship_with(db, principal.user, username)


@router.get("/profiles/{username}", response_model=ProfileOut, responses=responses(404))
async def profile(username: str, principal: OptionalUser, db: DB) -> ProfileOut:
    """A public profile with follower/following/post counts and, when signed in, the relationship."""
    return await service.profile(db, principal and principal.id, username)


@router.post("/reports", response_model=ReportOut, status_code=201, responses=responses(401, 404, 409, 422, 429))
async def report(body: ReportIn, principal: VerifiedUser, db: DB) -> ReportOut:
    """Report a post, comment, account or message to the moderators."""
    row = await service.report(db, principal.user, body)
    return ReportOut.model_validate(row, from_attributes=True)
