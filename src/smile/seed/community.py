"""The demo community through the social services: avatars, follows, posts with images and polls, reposts
and quotes, comments, reactions, poll votes and conversations.

Each step works in units of work (a whole step, or one per person, post or poll) that first check
whether they already ran, so a second seed changes nothing. Choices come from random generators seeded
by name: the same people get the same content every time.
"""

from __future__ import annotations

import random
import tempfile
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import exists, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity.models import User
from smile.identity.profile import service as profiles
from smile.kit.db import utcnow
from smile.seed import images, texts
from smile.social.graph import service as graph
from smile.social.media import service as media
from smile.social.messages import service as messages
from smile.social.messages.schemas import ConversationCreate, MessageCreate
from smile.social.models import Comment, Follow, Message, PollOption, PollVote, Post, Reaction
from smile.social.posts import comments, engage, polls
from smile.social.posts import service as posts
from smile.social.posts.schemas import PollIn, PostIn

NEWCOMER = "demo001"  # the account the README tells a newcomer to sign in as
REACTION_KINDS = ["like"] * 5 + ["love"] * 2 + ["laugh", "wow", "celebrate"]


class Step(Protocol):
    """The progress bar of one seed step: step(n) advances it by n; step(total=n) sets its length."""

    def __call__(self, n: int = 1, *, total: int | None = None) -> None: ...


Unit = Callable[[], AbstractAsyncContextManager[AsyncSession]]  # a unit of work: Database.session


@dataclass
class Demo:
    """The demo people (usernames, in order) and who follows whom (a deterministic plan)."""

    people: list[str]
    follows: dict[str, list[str]] = field(default_factory=dict)

    def followers(self, name: str) -> list[str]:
        return [p for p in self.people if name in self.follows.get(p, ())]


def plan(people: list[str]) -> Demo:
    demo = Demo(people)
    for person in people:
        rng = random.Random(f"follows:{person}")
        others = [p for p in people if p != person]
        wanted = 15 if person == NEWCOMER else rng.randint(4, 8)
        chosen = set(rng.sample(others, min(len(others), wanted)))
        if NEWCOMER in others and rng.random() < 0.7:
            chosen.add(NEWCOMER)  # the newcomer starts with followers
        demo.follows[person] = sorted(chosen)
    return demo


async def users(db: AsyncSession, names: list[str]) -> dict[str, User]:
    return {u.username: u for u in await db.scalars(select(User).where(User.username.in_(names)))}


async def _any(db: AsyncSession, query) -> bool:
    return bool(await db.scalar(select(exists(query))))


async def avatars(unit: Unit, demo: Demo, advance: Step) -> None:
    """An initials picture for everyone who has no avatar (through the profile service)."""
    async with unit() as db:
        for user in (await users(db, demo.people + ["demoadmin"])).values():
            if user.avatar_key is None:
                await profiles.set_avatar(db, user, images.avatar(user.username, user.display_name))
            advance(1)


async def follow_each_other(unit: Unit, demo: Demo, advance: Step) -> None:
    """Each person follows the people of the plan they do not follow yet (one unit of work each).

    Follows to or from the newcomer go through the graph service (the newcomer is notified and sees it);
    the others, among the rest of the demo people, are inserted as plain rows (the follows trigger keeps
    the counts): the service path for all of them did not fit the seed in 30 s.
    """
    for name in demo.people:
        async with unit() as db:
            people = await users(db, [name, *demo.follows[name]])
            me = people[name]
            done = set(await db.scalars(select(Follow.followee_id).where(Follow.follower_id == me.id)))
            missing = [t for t in demo.follows[name] if people[t].id not in done]
            for target in missing:
                if NEWCOMER in (name, target):
                    await graph.follow(db, me, target)
            plain = [
                {"follower_id": me.id, "followee_id": people[t].id, "status": "accepted", "created_at": utcnow()}
                for t in missing
                if NEWCOMER not in (name, t)
            ]
            if plain:
                await db.execute(insert(Follow).values(plain).on_conflict_do_nothing())
        advance(1)


def post_plan(demo: Demo) -> list[tuple[str, int]]:
    """(author, n) for every post to write, authors interleaved so timelines mix people."""
    planned = []
    for name in demo.people:
        count = 6 if name == NEWCOMER else random.Random(f"posts:{name}").randint(5, 9)
        planned += [(name, i) for i in range(count)]
    random.Random("post-order").shuffle(planned)
    return planned


async def _pictures(db: AsyncSession, owner: User, key: str, count: int, caption: str) -> list[uuid.UUID]:
    ids = []
    with tempfile.TemporaryDirectory(prefix="smile-seed-") as folder:
        for n in range(count):
            path = Path(folder) / f"{n}.png"
            path.write_bytes(images.picture(f"{key}:{n}", caption if n == 0 else ""))
            made = await media.create(db, owner.id, path, path.stat().st_size, alt=caption or "A demo picture")
            ids.append(made.id)
    return ids


async def write_posts(unit: Unit, demo: Demo, advance: Step) -> None:
    """About 7 posts per person: some with pictures, some with a poll or a mention; then reposts and quotes.
    One unit of work, skipped when the demo people have posted already."""
    async with unit() as db:
        await _write_posts(db, demo, advance)


async def _write_posts(db: AsyncSession, demo: Demo, advance: Step) -> None:
    people = await users(db, demo.people)
    if await _any(db, select(Post.id).where(Post.author_id.in_([u.id for u in people.values()]))):
        return
    planned = post_plan(demo)
    for i, (name, n, body) in enumerate(_bodies(planned)):
        if i == len(planned) * 7 // 10:
            await _share(db, demo, people)  # part-way, so newer posts come above the shares
        rng = random.Random(f"post:{name}:{n}")
        author = people[name]
        data = PostIn(body=body, visibility="followers" if rng.random() < 0.08 else "public")
        if n == 0 and (name == NEWCOMER or rng.random() < 0.25):
            question, options = rng.choice(texts.POLLS)
            data = PostIn(body=question, poll=PollIn(options=options, expires_in_minutes=3 * 24 * 60))
        else:
            if rng.random() < 0.15 and demo.follows[name]:
                mentioned = (
                    NEWCOMER
                    if NEWCOMER in demo.follows[name] and rng.random() < 0.5
                    else rng.choice(demo.follows[name])
                )
                data.body += f" cc @{mentioned}"
            if (roll := rng.random()) < 0.16:
                caption = rng.choice(texts.CAPTIONS)
                data.media_ids = await _pictures(db, author, f"{name}:{n}", 2 if roll < 0.03 else 1, caption)
        await posts.create(db, author, data)
        advance(1)


def _bodies(planned: list[tuple[str, int]]) -> list[tuple[str, int, str]]:
    """A text for each planned post, taken in turn so that neighbours differ and nobody repeats themselves."""
    out, used, turn = [], {}, 0
    for name, n in planned:
        mine = used.setdefault(name, set())
        k = next((k for k in range(turn, turn + len(texts.POSTS)) if k % len(texts.POSTS) not in mine), turn)
        mine.add(k % len(texts.POSTS))
        out.append((name, n, texts.POSTS[k % len(texts.POSTS)]))
        turn = k + 1
    return out


async def _share(db: AsyncSession, demo: Demo, people: dict[str, User]) -> None:
    """Some followers of the newcomer repost or quote one of the newcomer's public posts."""
    if NEWCOMER not in people:
        return
    theirs = list(
        await db.scalars(
            select(Post.id)
            .where(Post.author_id == people[NEWCOMER].id, Post.visibility == "public", Post.repost_of_id.is_(None))
            .order_by(Post.id)
        )
    )
    for name in demo.followers(NEWCOMER):
        rng = random.Random(f"share:{name}")
        if not theirs or rng.random() > 0.3:
            continue
        if rng.random() < 0.5:
            await posts.repost(db, people[name], rng.choice(theirs))
        else:
            quote = PostIn(body=rng.choice(texts.COMMENTS), quote_of_id=rng.choice(theirs))
            await posts.create(db, people[name], quote)


async def _originals(db: AsyncSession, people: dict[str, User]) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """(id, author id, body) of every post of the demo people that is not a repost, oldest first."""
    return [
        tuple(row)
        for row in await db.execute(
            select(Post.id, Post.author_id, Post.body)
            .where(Post.author_id.in_([u.id for u in people.values()]), Post.repost_of_id.is_(None), Post.body != "")
            .order_by(Post.id)
        )
    ]


async def write_comments(unit: Unit, demo: Demo, advance: Step) -> None:
    """Comments from followers on about a third of the posts (all of the newcomer's), some answered;
    one unit of work per post, skipped when the post has comments already."""
    async with unit() as db:
        people = await users(db, demo.people)
        originals = await _originals(db, people)
    by_id = {u.id: name for name, u in people.items()}
    chosen = []
    for post_id, author_id, body in originals:
        author = by_id[author_id]
        rng = random.Random(f"comments:{body}:{author}")
        readers = demo.followers(author)
        if readers and (author == NEWCOMER or rng.random() < 0.2):
            chosen.append((post_id, author, rng, readers))
    advance(0, total=len(chosen))
    for post_id, author, rng, readers in chosen:
        async with unit() as db:
            if not await _any(db, select(Comment.id).where(Comment.post_id == post_id)):
                for name in rng.sample(readers, min(len(readers), rng.randint(1, 2))):
                    comment = await comments.create(db, people[name], post_id, rng.choice(texts.COMMENTS), None)
                    if rng.random() < 0.3:
                        await comments.create(db, people[author], post_id, rng.choice(texts.REPLIES), comment.id)
        advance(1)


async def react(unit: Unit, demo: Demo, advance: Step) -> None:
    """Each person reacts to a few posts of people they follow (the newcomer's get the most); one unit of
    work per person, skipped when they reacted already.

    Reactions to the newcomer's posts go through the reactions service (the newcomer is notified); the
    others are inserted as plain rows with the posts' counts raised to match, as the service does.
    """
    async with unit() as db:
        people = await users(db, demo.people)
        by_author: dict[uuid.UUID, list[uuid.UUID]] = {}
        for post_id, author_id, _ in await _originals(db, people):
            by_author.setdefault(author_id, []).append(post_id)
    mine = by_author.get(people[NEWCOMER].id, []) if NEWCOMER in people else []
    for name in demo.people:
        rng = random.Random(f"reactions:{name}")
        seen = [
            p for followee in demo.follows[name] if followee != NEWCOMER for p in by_author.get(people[followee].id, [])
        ]
        plain = rng.sample(seen, min(len(seen), rng.randint(3, 8)))
        social = rng.sample(mine, min(len(mine), 3)) if NEWCOMER in demo.follows[name] else []
        async with unit() as db:
            if await _any(db, select(Reaction.post_id).where(Reaction.user_id == people[name].id)):
                advance(1)
                continue
            for post_id in social:
                await engage.react(db, people[name], post_id, rng.choice(REACTION_KINDS))
            if plain:
                added = list(
                    await db.scalars(
                        insert(Reaction)
                        .values(
                            [
                                {
                                    "post_id": p,
                                    "user_id": people[name].id,
                                    "kind": rng.choice(REACTION_KINDS),
                                    "created_at": utcnow(),
                                }
                                for p in plain
                            ]
                        )
                        .on_conflict_do_nothing()
                        .returning(Reaction.post_id)
                    )
                )
                await db.execute(
                    update(Post)
                    .where(Post.id.in_(added))
                    .values(reactions_count=Post.reactions_count + 1)
                    .execution_options(synchronize_session=False)
                )
        advance(1)


async def vote(unit: Unit, demo: Demo, advance: Step) -> None:
    """About two thirds of each poll author's followers vote (one unit of work per poll)."""
    async with unit() as db:
        people = await users(db, demo.people)
        by_id = {u.id: name for name, u in people.items()}
        polls_of: dict[uuid.UUID, tuple[str, list[uuid.UUID]]] = {}
        for post_id, author_id, option_id in await db.execute(
            select(PollOption.post_id, Post.author_id, PollOption.id)
            .join(Post, Post.id == PollOption.post_id)
            .where(Post.author_id.in_(by_id))
            .order_by(PollOption.post_id, PollOption.position)
        ):
            polls_of.setdefault(post_id, (by_id[author_id], []))[1].append(option_id)
    advance(0, total=len(polls_of))
    for post_id, (author, choices) in polls_of.items():
        rng = random.Random(f"votes:{author}")
        async with unit() as db:
            if not await _any(db, select(PollVote.post_id).where(PollVote.post_id == post_id)):
                for name in demo.followers(author):
                    if rng.random() < 0.7:
                        await polls.vote(db, people[name], post_id, rng.choice(choices))
        advance(1)


async def converse(unit: Unit, demo: Demo, advance: Step) -> None:
    """Direct conversations and a group with the newcomer (their last lines unread), and a few between others."""
    async with unit() as db:
        await _converse(db, demo, advance)


async def _converse(db: AsyncSession, demo: Demo, advance: Step) -> None:
    people = await users(db, demo.people)
    if NEWCOMER not in people or await _any(
        db, select(Message.id).where(Message.sender_id.in_([u.id for u in people.values()]))
    ):
        return
    me = people[NEWCOMER]
    others = demo.followers(NEWCOMER) or [p for p in demo.people if p != NEWCOMER]
    # as many conversations as there are both partners and scripts: either list may be the shorter
    for partner, script in zip(others, texts.DIRECT, strict=False):
        started = await messages.start(db, people[partner], ConversationCreate(member_usernames=[NEWCOMER]))
        for who, line in script:
            await messages.send(db, me if who == "me" else people[partner], started.id, MessageCreate(body=line))
        advance(1)
    crew = others[len(texts.DIRECT) : len(texts.DIRECT) + 3] or others[:3]
    if crew:
        group = await messages.start(
            db, people[crew[0]], ConversationCreate(member_usernames=[NEWCOMER, *crew[1:]], title=texts.GROUP_TITLE)
        )
        for n, (who, line) in enumerate(texts.GROUP):
            await messages.send(
                db, me if who == "me" else people[crew[n % len(crew)]], group.id, MessageCreate(body=line)
            )
        advance(1)
    rest = [p for p in demo.people if p != NEWCOMER]
    for n, script in enumerate(texts.OTHER_CHATS):
        pair = rest[2 * n : 2 * n + 2]
        if len(pair) < 2:
            break
        chat = await messages.start(db, people[pair[0]], ConversationCreate(member_usernames=[pair[1]]))
        for k, line in enumerate(script):
            await messages.send(db, people[pair[k % 2]], chat.id, MessageCreate(body=line))
        advance(1)
