"""Profiles, avatars, privacy and age: the business rules."""

from __future__ import annotations

import asyncio
import datetime as dt
import io

from PIL import Image, ImageOps
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from smile.identity import audit
from smile.identity.auth import Principal
from smile.identity.models import User
from smile.identity.profile import tasks
from smile.identity.profile.schemas import AgeResult, ProfileUpdate
from smile.kit import jobs, runtime
from smile.kit.db import utcnow
from smile.kit.errors import AppError, Conflict, Forbidden, Invalid, NotFound, TooLarge, UnsupportedMedia
from smile.kit.images import check_decoded_pixels
from smile.kit.security import new_token

MAX_AVATAR_BYTES = 5 * 1024 * 1024
AVATAR_SIZE = (256, 256)
AVATAR_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
MINIMUM_AGE = 13
ADULT_AGE = 18
MAX_AGE = 120


async def update_profile(db: AsyncSession, user: User, data: ProfileUpdate) -> User:
    changes = data.model_dump(exclude_none=True)
    for field, value in changes.items():
        setattr(user, field, value)
    if changes:
        await db.flush()
    return user


# Avatars


def process_avatar(data: bytes, max_pixels: int) -> bytes:
    """Sniff the real type, then orient, center-crop and resize to a 256x256 WebP.

    Only the first frame is decoded; it must fit max_pixels (SMILE_MEDIA_MAX_DECODED_PIXELS).
    """
    if len(data) > MAX_AVATAR_BYTES:
        raise TooLarge("The image is larger than 5 MB. Choose a smaller picture.")
    refused = UnsupportedMedia("Upload a JPEG, PNG, WebP or GIF image.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in AVATAR_FORMATS:
                raise refused
            check_decoded_pixels(probe, max_pixels, max_frames=1)
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.seek(0)
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P", "PA") else "RGB")
            image = ImageOps.fit(image, AVATAR_SIZE, Image.Resampling.LANCZOS)
            out = io.BytesIO()
            image.save(out, "WEBP", quality=85)
            return out.getvalue()
    except AppError:
        raise
    except Exception as exc:  # Pillow raises many types on malformed files: all mean "not an image"
        raise refused from exc


async def set_avatar(db: AsyncSession, user: User, data: bytes) -> User:
    image = await asyncio.to_thread(process_avatar, data, runtime.current().settings.media_max_decoded_pixels)
    storage = runtime.current().storage
    key = storage.save(f"avatars/{user.id}/{new_token(12)}.webp", image)
    return await _replace_avatar(db, user, key)


async def remove_avatar(db: AsyncSession, user: User) -> User:
    return await _replace_avatar(db, user, None)


async def _replace_avatar(db: AsyncSession, user: User, key: str | None) -> User:
    old, user.avatar_key = user.avatar_key, key
    await db.flush()
    if old:  # removed only once this change commits
        await jobs.defer(db, tasks.delete_media, key=old)
    return user


# Lookups


async def public_profile(db: AsyncSession, username: str, viewer: Principal | None) -> User:
    """An account anyone may see; deleted, suspended and unknown accounts answer 404."""
    user = await db.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None or (user.status != "active" and (viewer is None or viewer.id != user.id)):
        raise NotFound("No account with this username.")
    return user


async def find_by_email(db: AsyncSession, email: str, viewer: Principal) -> User:
    """Only accounts that opted in to being found by email; others look exactly like unknown ones."""
    limits = runtime.current()
    await limits.limiter.hit(
        limits.settings.rate_email_lookup, "email-lookup", str(viewer.id), message="Too many email lookups."
    )
    user = await db.scalar(
        select(User).where(
            func.lower(User.email) == email.strip().lower(),
            User.discoverable_by_email.is_(True),
            User.status == "active",
        )
    )
    if user is None:
        raise NotFound("No account can be found with this email address.")
    return user


# Age


def age_on(dob: dt.date, today: dt.date) -> int:
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def _checked_age(dob: dt.date) -> int:
    today = utcnow().date()
    if dob > today:
        raise Invalid("The date of birth is in the future.", fields={"date_of_birth": "must be in the past"})
    age = age_on(dob, today)
    if age > MAX_AGE:
        raise Invalid(
            "Check the date of birth: it is more than 120 years ago.",
            fields={"date_of_birth": "more than 120 years ago"},
        )
    return age


def check_minimum_age(dob: dt.date) -> None:
    """For signup: refuse people under 13 (and impossible dates) with a 422."""
    if _checked_age(dob) < MINIMUM_AGE:
        raise Invalid(
            f"You must be at least {MINIMUM_AGE} years old to use smile.",
            fields={"date_of_birth": f"you must be at least {MINIMUM_AGE}"},
            code="too_young",
        )


async def verify_age(db: AsyncSession, user: User, dob: dt.date) -> AgeResult:
    age = _checked_age(dob)
    if age < MINIMUM_AGE:
        raise Forbidden(f"You must be at least {MINIMUM_AGE} years old to use smile.", code="too_young")
    if user.age_verified_at is not None and user.date_of_birth is not None:
        if user.date_of_birth != dob:
            raise Conflict("Your date of birth is already verified. Contact support to correct it.")
        return AgeResult(is_adult=user.is_adult, age_verified_at=user.age_verified_at)
    user.date_of_birth = dob
    user.is_adult = age >= ADULT_AGE
    user.age_verified_at = utcnow()
    await audit.record(db, user.id, "user.age_verified", user.id, is_adult=user.is_adult)
    return AgeResult(is_adult=user.is_adult, age_verified_at=user.age_verified_at)
