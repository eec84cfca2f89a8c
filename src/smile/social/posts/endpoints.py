"""JSON API for posts, comments, reactions, bookmarks, pins and polls."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Response

from smile.identity.auth import DB, OptionalUser, VerifiedUser
from smile.kit.errors import responses
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from smile.kit.requests import DBRoute
from smile.social.posts import comments, engage, polls, service
from smile.social.posts.schemas import (
    CommentIn,
    CommentOut,
    Flag,
    PostEditOut,
    PostIn,
    PostOut,
    PostUpdate,
    ReactionIn,
    ReactionsOut,
    ReactionState,
    VoteIn,
)
from smile.social.posts.views import present, present_one

router = APIRouter(prefix="/api/v1", route_class=DBRoute, tags=["posts"])

Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


@router.post("/posts", response_model=PostOut, status_code=201, responses=responses(401, 403, 404, 422, 429))
async def create_post(data: PostIn, me: VerifiedUser, db: DB) -> PostOut:
    """Publish a post; `poll`, `media_ids` (up to 4 images or 1 video) and `quote_of_id` are optional."""
    return await present_one(db, me.id, await service.create(db, me.user, data))


@router.get("/posts/{post_id}", response_model=PostOut, responses=responses(404))
async def get_post(post_id: uuid.UUID, me: OptionalUser, db: DB) -> PostOut:
    viewer = me.id if me else None
    return await present_one(db, viewer, await service.get_visible_post(db, viewer, post_id))


@router.patch("/posts/{post_id}", response_model=PostOut, responses=responses(401, 403, 404, 422))
async def edit_post(post_id: uuid.UUID, data: PostUpdate, me: VerifiedUser, db: DB) -> PostOut:
    """Edit your post; the previous version is kept in its history."""
    return await present_one(db, me.id, await service.edit(db, me.user, post_id, data))


@router.get("/posts/{post_id}/edits", response_model=list[PostEditOut], responses=responses(404))
async def post_edits(post_id: uuid.UUID, me: OptionalUser, db: DB) -> list[PostEditOut]:
    """Previous versions, newest first."""
    rows = await service.edits(db, me.id if me else None, post_id)
    return [PostEditOut(id=r.id, body=r.body, content_warning=r.content_warning, created_at=r.created_at) for r in rows]


@router.delete("/posts/{post_id}", status_code=204, responses=responses(401, 403, 404))
async def delete_post(post_id: uuid.UUID, me: VerifiedUser, db: DB) -> Response:
    await service.remove(db, me.user, post_id)
    return Response(status_code=204)


@router.post(
    "/posts/{post_id}/repost",
    response_model=PostOut,
    status_code=201,
    responses=responses(401, 403, 404, 409, 422, 429),
)
async def repost(post_id: uuid.UUID, me: VerifiedUser, db: DB) -> PostOut:
    """Repost a public post (once)."""
    return await present_one(db, me.id, await service.repost(db, me.user, post_id))


@router.delete("/posts/{post_id}/repost", status_code=204, responses=responses(401, 404))
async def undo_repost(post_id: uuid.UUID, me: VerifiedUser, db: DB) -> Response:
    await service.unrepost(db, me.user, post_id)
    return Response(status_code=204)


@router.post(
    "/posts/{post_id}/comments",
    response_model=CommentOut,
    status_code=201,
    responses=responses(401, 403, 404, 422, 429),
)
async def add_comment(post_id: uuid.UUID, data: CommentIn, me: VerifiedUser, db: DB) -> CommentOut:
    """Comment on a post, or reply to one of its comments (`parent_id`)."""
    comment = await comments.create(db, me.user, post_id, data.body, data.parent_id)
    return await comments.get_out(db, me.user, comment)


@router.get("/posts/{post_id}/comments", response_model=Page[CommentOut], responses=responses(404, 422))
async def list_comments(
    post_id: uuid.UUID, me: OptionalUser, db: DB, cursor: str | None = None, limit: int = Limit
) -> Page[CommentOut]:
    """Top-level comments oldest first (cursor-paginated), each with its replies nested up to 6 levels."""
    items, next_cursor = await comments.thread(db, me.id if me else None, post_id, cursor, limit)
    return Page(items=items, next_cursor=next_cursor)


@router.delete("/comments/{comment_id}", status_code=204, responses=responses(401, 403, 404))
async def delete_comment(comment_id: uuid.UUID, me: VerifiedUser, db: DB) -> Response:
    """Delete a comment: its author or the post's owner."""
    await comments.remove(db, me.user, comment_id)
    return Response(status_code=204)


@router.put("/posts/{post_id}/reaction", response_model=ReactionState, responses=responses(401, 403, 404, 422))
async def react(post_id: uuid.UUID, data: ReactionIn, me: VerifiedUser, db: DB) -> ReactionState:
    return await engage.react(db, me.user, post_id, data.kind)


@router.delete("/posts/{post_id}/reaction", response_model=ReactionState, responses=responses(401, 403, 404))
async def unreact(post_id: uuid.UUID, me: VerifiedUser, db: DB) -> ReactionState:
    return await engage.unreact(db, me.user, post_id)


@router.get("/posts/{post_id}/reactions", response_model=ReactionsOut, responses=responses(404, 422))
async def list_reactions(
    post_id: uuid.UUID, me: OptionalUser, db: DB, kind: str | None = None, cursor: str | None = None, limit: int = Limit
) -> ReactionsOut:
    """Counts per kind and who reacted (optionally one `kind`)."""
    return await engage.reactions(db, me.id if me else None, post_id, kind, cursor, limit)


@router.put("/posts/{post_id}/bookmark", response_model=Flag, responses=responses(401, 403, 404))
async def bookmark(post_id: uuid.UUID, me: VerifiedUser, db: DB) -> Flag:
    await engage.bookmark(db, me.user, post_id, True)
    return Flag(post_id=post_id, on=True)


@router.delete("/posts/{post_id}/bookmark", response_model=Flag, responses=responses(401, 403, 404))
async def unbookmark(post_id: uuid.UUID, me: VerifiedUser, db: DB) -> Flag:
    await engage.bookmark(db, me.user, post_id, False)
    return Flag(post_id=post_id, on=False)


@router.get("/bookmarks", response_model=Page[PostOut], responses=responses(401, 403, 422))
async def list_bookmarks(me: VerifiedUser, db: DB, cursor: str | None = None, limit: int = Limit) -> Page[PostOut]:
    posts, next_cursor = await engage.bookmarks(db, me.user, cursor, limit)
    return Page(items=await present(db, me.id, posts), next_cursor=next_cursor)


@router.put("/posts/{post_id}/pin", response_model=Flag, responses=responses(401, 403, 404, 409))
async def pin(post_id: uuid.UUID, me: VerifiedUser, db: DB) -> Flag:
    """Pin your post to your profile (at most 3)."""
    await engage.pin(db, me.user, post_id, True)
    return Flag(post_id=post_id, on=True)


@router.delete("/posts/{post_id}/pin", response_model=Flag, responses=responses(401, 403, 404))
async def unpin(post_id: uuid.UUID, me: VerifiedUser, db: DB) -> Flag:
    await engage.pin(db, me.user, post_id, False)
    return Flag(post_id=post_id, on=False)


@router.post("/posts/{post_id}/poll/vote", response_model=PostOut, responses=responses(401, 403, 404, 409, 422))
async def vote(post_id: uuid.UUID, data: VoteIn, me: VerifiedUser, db: DB) -> PostOut:
    """Vote once; 409 on a second vote, 422 after the poll ended."""
    return await present_one(db, me.id, await polls.vote(db, me.user, post_id, data.option_id))
