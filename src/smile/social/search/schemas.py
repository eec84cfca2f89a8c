"""Search API schemas."""

from __future__ import annotations

from pydantic import BaseModel

from smile.identity.models import User
from smile.social.schemas import AuthorOut


class PersonOut(AuthorOut):
    """A search hit: the author fields (with `is_ai`) plus a short bio."""

    bio: str
    is_private: bool

    @classmethod
    def of(cls, user: User) -> PersonOut:
        return cls(**AuthorOut.of(user).model_dump(), bio=(user.bio or "")[:200], is_private=user.is_private)


class HashtagOut(BaseModel):
    tag: str
    posts: int  # public posts using it in the last 90 days
    url: str
