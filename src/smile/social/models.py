"""Tables owned by the social network."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from smile.kit.db import Base, IdMixin, TimestampMixin

VISIBILITIES = ("public", "followers", "mentioned")
REACTIONS = {"like": "👍", "love": "❤️", "laugh": "😂", "wow": "😮", "sad": "😢", "celebrate": "🎉"}
NOTIFICATION_KINDS = (
    "follow",
    "follow_request",
    "mention",
    "comment",
    "reaction",
    "repost",
    "quote",
    "poll_ended",
    "message",
    "agent_paused",
)
REPORT_TARGETS = ("post", "comment", "user", "message")


def _user_fk(ondelete: str = "CASCADE"):
    return ForeignKey("users.id", ondelete=ondelete)


def _uuid() -> UUID:
    return UUID(as_uuid=True)


class Post(IdMixin, TimestampMixin, Base):
    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_author_id_id", "author_id", text("id DESC")),
        Index("ix_posts_search", "search", postgresql_using="gin"),
        Index(
            "ix_posts_public_recent",
            text("id DESC"),
            postgresql_where=text("visibility = 'public' AND status = 'visible' AND deleted_at IS NULL"),
        ),
        CheckConstraint("visibility IN ('public', 'followers', 'mentioned')", name="visibility"),
    )

    author_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk())
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(12), default="public")
    content_warning: Mapped[str | None] = mapped_column(String(200))
    repost_of_id: Mapped[uuid.UUID | None] = mapped_column(
        _uuid(), ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    quote_of_id: Mapped[uuid.UUID | None] = mapped_column(
        _uuid(), ForeignKey("posts.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default="visible")  # visible|held|hidden
    edited_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    pinned_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    generated_by: Mapped[dict | None] = mapped_column(JSONB)  # AI provenance {agent, model, version, offline}
    reactions_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    comments_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reposts_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    search: Mapped[str] = mapped_column(
        TSVECTOR, Computed("to_tsvector('simple', coalesce(body, ''))", persisted=True), deferred=True
    )


class PostEdit(IdMixin, TimestampMixin, Base):
    """A previous version of an edited post."""

    __tablename__ = "post_edits"

    post_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    content_warning: Mapped[str | None] = mapped_column(String(200))


class Mention(Base):
    __tablename__ = "post_mentions"

    post_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), primary_key=True, index=True)


class PostHashtag(Base):
    __tablename__ = "post_hashtags"
    __table_args__ = (Index("ix_post_hashtags_tag_post", "tag", text("post_id DESC")),)

    post_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)  # lowercased, without '#'


class Media(IdMixin, TimestampMixin, Base):
    """An uploaded image or video; attached to at most one post or message."""

    __tablename__ = "media"

    owner_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), index=True)
    post_id: Mapped[uuid.UUID | None] = mapped_column(_uuid(), ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        _uuid(), ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # image|video
    mime: Mapped[str] = mapped_column(String(60))
    storage_key: Mapped[str] = mapped_column(String(300))
    thumb_key: Mapped[str | None] = mapped_column(String(300))
    alt: Mapped[str] = mapped_column(String(1500), default="")
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Poll(Base):
    __tablename__ = "polls"

    post_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PollOption(IdMixin, Base):
    __tablename__ = "poll_options"

    post_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("polls.post_id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(100))
    votes_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PollVote(TimestampMixin, Base):
    __tablename__ = "poll_votes"

    post_id: Mapped[uuid.UUID] = mapped_column(
        _uuid(), ForeignKey("polls.post_id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), primary_key=True)
    option_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("poll_options.id", ondelete="CASCADE"))


class Comment(IdMixin, TimestampMixin, Base):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_post_id_id", "post_id", "id"),)

    post_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("posts.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        _uuid(), ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="visible")  # visible|held|hidden
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    generated_by: Mapped[dict | None] = mapped_column(JSONB)  # AI provenance {agent, model, version, offline}


class Reaction(TimestampMixin, Base):
    """One reaction per person per post; `kind` is a key of REACTIONS."""

    __tablename__ = "reactions"

    post_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(12), default="like")


class Bookmark(TimestampMixin, Base):
    __tablename__ = "bookmarks"

    user_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), primary_key=True)
    post_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)


class Follow(TimestampMixin, Base):
    __tablename__ = "follows"
    __table_args__ = (
        Index("ix_follows_followee_status", "followee_id", "status"),
        CheckConstraint("follower_id <> followee_id", name="not_self"),
    )

    follower_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), primary_key=True)
    followee_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="accepted")  # accepted|pending


class Block(TimestampMixin, Base):
    __tablename__ = "blocks"

    blocker_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), primary_key=True)
    blocked_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), primary_key=True, index=True)


class Mute(TimestampMixin, Base):
    __tablename__ = "mutes"

    muter_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), primary_key=True)
    muted_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), primary_key=True)


class Report(IdMixin, TimestampMixin, Base):
    """A report by a person, or an automatic hold by the moderation step (reporter_id NULL)."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_status_id", "status", "id"),)

    reporter_id: Mapped[uuid.UUID | None] = mapped_column(_uuid(), _user_fk("SET NULL"), index=True)
    target_type: Mapped[str] = mapped_column(String(10))  # post|comment|user|message
    target_id: Mapped[uuid.UUID] = mapped_column(_uuid(), index=True)
    target_user_id: Mapped[uuid.UUID | None] = mapped_column(_uuid(), _user_fk("SET NULL"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    details: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="open")  # open|actioned|dismissed
    resolution: Mapped[str | None] = mapped_column(String(40))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(_uuid(), _user_fk("SET NULL"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class TimelineEntry(Base):
    """Home timeline, fanned out on write for recently active followers."""

    __tablename__ = "timeline_entries"
    # The primary key (user_id, post_id), scanned backwards, serves the newest-first page.

    user_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), primary_key=True)
    post_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    author_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk())


class SocialActivity(Base):
    """When a person last read their home timeline (decides fan-out and rebuilds)."""

    __tablename__ = "social_activity"

    user_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), primary_key=True)
    last_active_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    timeline_built_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SocialCounts(Base):
    """Accepted followers per account, kept by a trigger on follows (migration 0003); no row means 0."""

    __tablename__ = "social_counts"

    user_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), primary_key=True)
    followers: Mapped[int] = mapped_column(Integer, default=0, server_default="0", index=True)


class Conversation(IdMixin, TimestampMixin, Base):
    __tablename__ = "conversations"

    kind: Mapped[str] = mapped_column(String(10))  # direct|group
    title: Mapped[str] = mapped_column(String(100), default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(_uuid(), _user_fk("SET NULL"))
    direct_key: Mapped[str | None] = mapped_column(String(80), unique=True)  # "<uuid>:<uuid>" sorted, 1:1 only
    last_message_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class ConversationMember(TimestampMixin, Base):
    __tablename__ = "conversation_members"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        _uuid(), ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), primary_key=True, index=True)
    left_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    last_read_message_id: Mapped[uuid.UUID | None] = mapped_column(_uuid())


class Message(IdMixin, TimestampMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_id_id", "conversation_id", text("id DESC")),)

    conversation_id: Mapped[uuid.UUID] = mapped_column(_uuid(), ForeignKey("conversations.id", ondelete="CASCADE"))
    sender_id: Mapped[uuid.UUID | None] = mapped_column(_uuid(), _user_fk("SET NULL"))
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="visible")  # visible|held|hidden
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    generated_by: Mapped[dict | None] = mapped_column(JSONB)  # AI provenance {agent, model, version, offline}


class Notification(IdMixin, TimestampMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_id_id", "user_id", text("id DESC")),
        Index("ix_notifications_unread", "user_id", postgresql_where=text("read_at IS NULL")),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk())
    kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(_uuid(), _user_fk())
    post_id: Mapped[uuid.UUID | None] = mapped_column(_uuid(), ForeignKey("posts.id", ondelete="CASCADE"))
    comment_id: Mapped[uuid.UUID | None] = mapped_column(_uuid(), ForeignKey("comments.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        _uuid(), ForeignKey("conversations.id", ondelete="CASCADE")
    )
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class NotificationPref(Base):
    __tablename__ = "notification_prefs"

    user_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class StreamEvent(Base):
    """Real-time events per recipient, kept for catch-up after a reconnect (cursor = id)."""

    __tablename__ = "stream_events"
    __table_args__ = (Index("ix_stream_events_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(_uuid(), _user_fk())
    kind: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
