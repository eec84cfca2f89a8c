"""Turn Post rows into PostOut for one viewer, loading everything a page of posts needs in a few queries.

Other areas (timelines, profiles, search) call `present(db, viewer_id, posts)` on rows they
already filtered with smile.social.visibility.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.models import User
from smile.kit.db import utcnow
from smile.social.models import Bookmark, Media, Poll, PollOption, PollVote, Post, Reaction
from smile.social.posts.schemas import Counts, MediaOut, PollOptionOut, PollOut, PostOut
from smile.social.schemas import AuthorOut
from smile.social.visibility import visible_posts


async def present_one(db: AsyncSession, viewer_id: uuid.UUID | None, post: Post) -> PostOut:
    return (await present(db, viewer_id, [post]))[0]


async def present(db: AsyncSession, viewer_id: uuid.UUID | None, posts: list[Post], nest: bool = True) -> list[PostOut]:
    """PostOut for each post, in order. Reposted/quoted posts are nested once, if the viewer may see them."""
    if not posts:
        return []
    ids = [p.id for p in posts]
    nested: dict[uuid.UUID, PostOut] = {}
    if nest:
        inner_ids = {p.repost_of_id for p in posts if p.repost_of_id} | {p.quote_of_id for p in posts if p.quote_of_id}
        if inner_ids:
            inner = list(await db.scalars(visible_posts(viewer_id).where(Post.id.in_(inner_ids))))
            nested = {out.id: out for out in await present(db, viewer_id, inner, nest=False)}
    authors = {u.id: u for u in await db.scalars(select(User).where(User.id.in_({p.author_id for p in posts})))}
    by_kind: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for post_id, kind, count in await db.execute(
            select(Reaction.post_id, Reaction.kind, func.count()).where(Reaction.post_id.in_(ids))
            .group_by(Reaction.post_id, Reaction.kind)):
        by_kind[post_id][kind] = count
    mine: dict[uuid.UUID, str] = {}
    marked: set[uuid.UUID] = set()
    if viewer_id:
        mine = dict((await db.execute(select(Reaction.post_id, Reaction.kind).where(
            Reaction.post_id.in_(ids), Reaction.user_id == viewer_id))).all())
        marked = set(await db.scalars(select(Bookmark.post_id).where(
            Bookmark.post_id.in_(ids), Bookmark.user_id == viewer_id)))
    media: dict[uuid.UUID, list[MediaOut]] = defaultdict(list)
    for m in await db.scalars(select(Media).where(Media.post_id.in_(ids)).order_by(Media.position, Media.id)):
        media[m.post_id].append(media_out(m))
    polls = await _polls(db, viewer_id, posts)
    out = []
    for p in posts:
        out.append(PostOut(
            id=p.id, author=AuthorOut.of(authors[p.author_id]), body=p.body, body_html=p.body_html,
            visibility=p.visibility, content_warning=p.content_warning, status=p.status,
            created_at=p.created_at, edited_at=p.edited_at,
            counts=Counts(reactions=p.reactions_count, comments=p.comments_count, reposts=p.reposts_count,
                          by_kind=by_kind.get(p.id, {})),
            my_reaction=mine.get(p.id), bookmarked=p.id in marked, pinned=p.pinned_at is not None,
            poll=polls.get(p.id), repost_of=nested.get(p.repost_of_id) if p.repost_of_id else None,
            quote_of=nested.get(p.quote_of_id) if p.quote_of_id else None, quote_of_id=p.quote_of_id,
            media=media.get(p.id, []), url=f"/posts/{p.id}",
        ))
    return out


def media_out(m: Media) -> MediaOut:
    return MediaOut(id=m.id, kind=m.kind, mime=m.mime, url=f"/media/post/{m.id}",
                    thumb_url=f"/media/post/{m.id}/thumb" if m.thumb_key else None, alt=m.alt or "",
                    width=m.width, height=m.height)


async def _polls(db: AsyncSession, viewer_id: uuid.UUID | None, posts: list[Post]) -> dict[uuid.UUID, PollOut]:
    ids = [p.id for p in posts]
    polls = {poll.post_id: poll for poll in await db.scalars(select(Poll).where(Poll.post_id.in_(ids)))}
    if not polls:
        return {}
    options: dict[uuid.UUID, list[PollOption]] = defaultdict(list)
    for o in await db.scalars(select(PollOption).where(PollOption.post_id.in_(polls)).order_by(PollOption.position)):
        options[o.post_id].append(o)
    votes: dict[uuid.UUID, uuid.UUID] = {}
    if viewer_id:
        votes = dict((await db.execute(select(PollVote.post_id, PollVote.option_id).where(
            PollVote.post_id.in_(polls), PollVote.user_id == viewer_id))).all())
    authors = {p.id: p.author_id for p in posts}
    now = utcnow()
    out = {}
    for post_id, poll in polls.items():
        closed = poll.expires_at <= now
        shown = closed or post_id in votes or authors[post_id] == viewer_id
        opts = options[post_id]
        out[post_id] = PollOut(
            options=[PollOptionOut(id=o.id, label=o.label, votes=o.votes_count if shown else None) for o in opts],
            my_vote=votes.get(post_id), expires_at=poll.expires_at, closed=closed,
            total_votes=sum(o.votes_count for o in opts) if shown else None, results_visible=shown)
    return out
