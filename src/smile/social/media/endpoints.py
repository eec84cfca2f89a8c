"""Media API: upload, and access-checked file URLs (cookie or bearer).

The file routes live outside /api/v1 (/media/post/{id}, /media/post/{id}/thumb) so that
<img> and <video> tags can use them with the session cookie; they answer 404 to anyone
who may not see the post or conversation the file belongs to.
"""

from __future__ import annotations

import asyncio
import re
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from smile.identity.auth import DB, OptionalUser, VerifiedUser
from smile.kit import runtime
from smile.kit.errors import AppError, NotFound, responses
from smile.kit.requests import DBRoute
from smile.kit.storage import file_response
from smile.social.media import service
from smile.social.media.schemas import MediaOut
from smile.social.media.upload import receive

router = APIRouter(route_class=DBRoute, tags=["social"])

PRIVATE_CACHE = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "alt": {"type": "string", "maxLength": 1500},
                    },
                }
            }
        },
    }
}


@router.post(
    "/api/v1/media",
    response_model=MediaOut,
    status_code=201,
    responses=responses(401, 403, 413, 415, 422, 429),
    openapi_extra=UPLOAD_BODY,
)
async def upload(request: Request, db: DB, me: VerifiedUser) -> MediaOut:
    """Upload an image or video (multipart: `file`, optional `alt`), streamed to storage.

    Attach the returned id to a post (`media_ids`) or a message within 24 hours; unused
    uploads are deleted after that.
    """
    received = await receive(request, runtime.current().settings.media_max_bytes)
    try:
        media = await service.create(db, me.id, received.path, received.size, received.fields.get("alt", ""))
    finally:
        await asyncio.to_thread(received.discard)
    return MediaOut.of(media)


@router.get("/api/v1/media/{media_id}", response_model=MediaOut, responses=responses(404))
async def get_media(media_id: uuid.UUID, db: DB, viewer: OptionalUser) -> MediaOut:
    """Metadata of a file the caller may see."""
    return MediaOut.of(await service.viewable(db, viewer.id if viewer else None, media_id))


@router.get("/media/post/{media_id}", include_in_schema=False)
async def media_file(media_id: uuid.UUID, request: Request, db: DB, viewer: OptionalUser) -> Response:
    media = await service.viewable(db, viewer.id if viewer else None, media_id)
    return await _send(request, media.storage_key, media.mime)


@router.get("/media/post/{media_id}/thumb", include_in_schema=False)
async def media_thumb(media_id: uuid.UUID, request: Request, db: DB, viewer: OptionalUser) -> Response:
    media = await service.viewable(db, viewer.id if viewer else None, media_id)
    if not media.thumb_key:
        raise NotFound("This file has no thumbnail.")
    return await _send(request, media.thumb_key, "image/webp")


async def _send(request: Request, key: str, mime: str) -> Response:
    """The stored file, honouring a single HTTP Range (video seeking) with 206."""
    storage = runtime.current().storage
    headers = {**PRIVATE_CACHE, "Accept-Ranges": "bytes"}
    match = RANGE.match(request.headers.get("range", "").strip())
    if not match or match.groups() == ("", ""):
        return file_response(storage, key, mime, headers)
    size = await asyncio.to_thread(storage.size, key)
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    else:  # a suffix: the last N bytes
        start, end = max(0, size - int(last)), size - 1
    if start >= size or start > end:
        raise AppError(
            "The requested range is outside the file.",
            status=416,
            code="range_not_satisfiable",
            headers={"Content-Range": f"bytes */{size}"},
        )
    headers.update({"Content-Range": f"bytes {start}-{end}/{size}", "Content-Length": str(end - start + 1)})
    return StreamingResponse(storage.stream(key, start, end), status_code=206, media_type=mime, headers=headers)
