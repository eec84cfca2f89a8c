"""Comments: threaded replies on a post, deletable by their author or the post's owner.

@mentions notify the people named who may see the post (kind "mention"), unless they
already hear about the comment as the post's owner or the parent comment's author.

Listing: top-level comments oldest first, cursor-paginated; each carries its replies nested
up to MAX_DEPTH levels. A removed or hidden comment that still has visible replies stays as a
placeholder (deleted=true, no author or body) so the thread keeps its shape.
"""

from __future__ import annotations

import uuid

from sqlalchemy import and_, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.models import User
from smile.kit.db import utcnow
from smile.kit.errors import Forbidden, Invalid, NotFound
from smile.kit.pagination import keyset, page_of
from smile.social import moderation, text
from smile.social.models import Comment, Post
from smile.social.notifications.service import notify
from smile.social.posts.schemas import CommentOut
from smile.social.posts.service import rate_limit
from smile.social.schemas import AuthorOut
from smile.social.visibility import blocked_between, get_visible_post, visible_posts

MAX_DEPTH = 6


def comment_visible(viewer_id: uuid.UUID | None, author=User):
    """A comment the viewer may read (its post's visibility is checked separately)."""
    own = Comment.author_id == viewer_id if viewer_id else literal(False)
    return and_(
        Comment.deleted_at.is_(None),
        or_(Comment.status == "visible", own),
        author.status == "active",
        ~blocked_between(viewer_id, Comment.author_id),
    )


async def create(
    db: AsyncSession,
    user: User,
    post_id: uuid.UUID,
    body: str,
    parent_id: uuid.UUID | None,
    generated_by: dict | None = None,
) -> Comment:
    """`generated_by` (AI provenance) is kept only for AI agents' comments."""
    post = await get_visible_post(db, user.id, post_id)
    await rate_limit(user, "comment")
    parent = None
    if parent_id:
        parent = await db.scalar(
            select(Comment)
            .join(User, User.id == Comment.author_id)
            .where(Comment.id == parent_id, Comment.post_id == post.id, comment_visible(user.id))
        )
        if parent is None:
            raise Invalid("You can only reply to a comment on this post.", fields={"parent_id": "not on this post"})
    body = body.strip()
    if not body:
        raise Invalid("Write something first.", fields={"body": "empty"})
    html, mentions, _ = text.render(body)
    verdict = await moderation.check(db, user, body)
    comment = Comment(
        post_id=post.id,
        author_id=user.id,
        parent_id=parent_id,
        body=body,
        body_html=html,
        status=str(verdict),
        generated_by=generated_by if user.is_ai else None,
    )
    db.add(comment)
    await db.flush()
    await db.execute(update(Post).where(Post.id == post.id).values(comments_count=Post.comments_count + 1))
    if verdict == "held":
        await moderation.hold(db, "comment", comment.id, user.id, verdict.rule)
    else:
        told = {post.author_id}
        await notify(
            db, user_id=post.author_id, kind="comment", actor_id=user.id, post_id=post.id, comment_id=comment.id
        )
        if parent and parent.author_id != post.author_id:
            told.add(parent.author_id)
            await notify(
                db, user_id=parent.author_id, kind="comment", actor_id=user.id, post_id=post.id, comment_id=comment.id
            )
        for uid in await _mentioned_readers(db, post.id, user.id, mentions):
            if uid not in told:
                await notify(db, user_id=uid, kind="mention", actor_id=user.id, post_id=post.id, comment_id=comment.id)
    return comment


async def _mentioned_readers(
    db: AsyncSession, post_id: uuid.UUID, author_id: uuid.UUID, usernames: list[str]
) -> list[uuid.UUID]:
    """Active accounts named in a comment who may see its post (a comment never widens a post's audience)."""
    if not usernames:
        return []
    named = list(
        await db.scalars(
            select(User.id).where(
                func.lower(User.username).in_(usernames), User.status == "active", User.id != author_id
            )
        )
    )
    return [
        uid for uid in named if await db.scalar(visible_posts(uid).with_only_columns(Post.id).where(Post.id == post_id))
    ]


async def remove(db: AsyncSession, user: User, comment_id: uuid.UUID) -> None:
    """Soft-delete: by the comment's author, the post's owner, or an admin."""
    row = (
        await db.execute(
            select(Comment, Post.author_id)
            .join(Post, Post.id == Comment.post_id)
            .join(User, User.id == Comment.author_id)
            .where(Comment.id == comment_id, comment_visible(user.id))
        )
    ).first()
    if row is None:
        raise NotFound("This comment does not exist or you cannot see it.")
    comment, post_author = row
    if not user.is_admin:
        await get_visible_post(db, user.id, comment.post_id)
    if user.id not in (comment.author_id, post_author) and not user.is_admin:
        raise Forbidden("Only the comment's author or the post's owner can delete it.")
    comment.deleted_at = utcnow()
    await db.execute(
        update(Post).where(Post.id == comment.post_id).values(comments_count=func.greatest(Post.comments_count - 1, 0))
    )
    await db.flush()


async def thread(
    db: AsyncSession, viewer_id: uuid.UUID | None, post_id: uuid.UUID, cursor: str | None = None, limit: int = 20
) -> tuple[list[CommentOut], str | None]:
    """A page of top-level comments (oldest first), each with its visible replies nested."""
    post = await get_visible_post(db, viewer_id, post_id)
    top = list(
        await db.scalars(
            keyset(
                select(Comment).where(Comment.post_id == post.id, Comment.parent_id.is_(None)),
                Comment.id,
                cursor,
                limit,
                newest_first=False,
            )
        )
    )
    top, next_cursor = page_of(top, limit)
    if not top:
        return [], next_cursor
    tree = (
        select(Comment.id, literal(1).label("depth"))
        .where(Comment.id.in_([c.id for c in top]))
        .cte("tree", recursive=True)
    )
    tree = tree.union_all(
        select(Comment.id, (tree.c.depth + 1).label("depth"))
        .join(tree, Comment.parent_id == tree.c.id)
        .where(tree.c.depth < MAX_DEPTH)
    )
    rows = list(await db.scalars(select(Comment).where(Comment.id.in_(select(tree.c.id))).order_by(Comment.id)))
    visible = set(
        await db.scalars(
            select(Comment.id)
            .join(User, User.id == Comment.author_id)
            .where(Comment.id.in_([c.id for c in rows]), comment_visible(viewer_id))
        )
    )
    authors = {u.id: u for u in await db.scalars(select(User).where(User.id.in_({c.author_id for c in rows})))}
    children: dict[uuid.UUID | None, list[Comment]] = {}
    for c in rows:
        children.setdefault(c.parent_id, []).append(c)

    def build(c: Comment) -> CommentOut | None:
        replies = [out for r in children.get(c.id, []) if (out := build(r)) is not None]
        shown = c.id in visible
        if not shown and not replies:
            return None
        return CommentOut(
            id=c.id,
            post_id=c.post_id,
            parent_id=c.parent_id,
            author=AuthorOut.of(authors[c.author_id]) if shown else None,
            body=c.body if shown else "",
            body_html=c.body_html if shown else "",
            status=c.status if shown else "removed",
            deleted=not shown,
            can_delete=shown and viewer_id in (c.author_id, post.author_id),
            created_at=c.created_at,
            replies=replies,
            generated_by=c.generated_by if shown else None,
        )

    return [out for c in top if (out := build(c)) is not None], next_cursor


async def get_out(db: AsyncSession, viewer: User, comment: Comment) -> CommentOut:
    post_author = await db.scalar(select(Post.author_id).where(Post.id == comment.post_id))
    return CommentOut(
        id=comment.id,
        post_id=comment.post_id,
        parent_id=comment.parent_id,
        author=AuthorOut.of(viewer),
        body=comment.body,
        body_html=comment.body_html,
        status=comment.status,
        deleted=False,
        can_delete=viewer.id in (comment.author_id, post_author),
        created_at=comment.created_at,
        generated_by=comment.generated_by,
    )


async def get_visible(db: AsyncSession, viewer_id: uuid.UUID, comment_id: uuid.UUID) -> Comment:
    """A comment the viewer may read, on a post they may see (404 otherwise)."""
    comment = await db.scalar(
        select(Comment)
        .join(User, User.id == Comment.author_id)
        .where(Comment.id == comment_id, comment_visible(viewer_id))
    )
    if comment is None:
        raise NotFound("This comment does not exist or you cannot see it.")
    await get_visible_post(db, viewer_id, comment.post_id)
    return comment


async def ancestors(db: AsyncSession, viewer_id: uuid.UUID, comment: Comment, limit: int = 6) -> list[Comment]:
    """The comment and its visible ancestors, oldest first (at most `limit`)."""
    chain = [comment]
    while chain[0].parent_id and len(chain) < limit:
        parent = await db.scalar(
            select(Comment)
            .join(User, User.id == Comment.author_id)
            .where(Comment.id == chain[0].parent_id, comment_visible(viewer_id))
        )
        if parent is None:
            break
        chain.insert(0, parent)
    return chain
