"""Media storage: local files under $SMILE_DATA_DIR/media, or an S3-compatible bucket.

Both backends share one interface (keys are relative paths like "avatars/<id>/<token>.webp"):
save(key, bytes), save_file(key, path), read(key), stream(key, start, end), size(key),
delete(key), exists(key). Calls are blocking; async code runs them in a thread.

Only keys under PUBLIC_PREFIXES are served without an access check (see `router`);
everything else (post and message media) is served by routes that check who may see it.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response, StreamingResponse

from smile.kit.errors import NotFound

CHUNK = 1024 * 1024
PUBLIC_PREFIXES = ("avatars/",)


class Storage(Protocol):
    def save(self, key: str, data: bytes, content_type: str | None = None) -> str: ...
    def save_file(self, key: str, path: Path, content_type: str | None = None) -> str: ...
    def read(self, key: str) -> bytes: ...
    def stream(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]: ...
    def size(self, key: str) -> int: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def local_path(self, key: str) -> Path | None: ...


class LocalStorage:
    def __init__(self, root: Path, url_prefix: str = "/media") -> None:
        self.root = root.resolve()
        self.url_prefix = url_prefix

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError("storage key escapes the media root")
        return path

    def save(self, key: str, data: bytes, content_type: str | None = None) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return key

    def save_file(self, key: str, path: Path, content_type: str | None = None) -> str:
        """Copy a file in (chunked, never whole in memory)."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        os.replace(tmp, target)
        return key

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def stream(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Bytes start..end (inclusive), in chunks."""
        with open(self._path(key), "rb") as f:
            f.seek(start)
            left = None if end is None else end - start + 1
            while left is None or left > 0:
                chunk = f.read(CHUNK if left is None else min(CHUNK, left))
                if not chunk:
                    break
                if left is not None:
                    left -= len(chunk)
                yield chunk

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def url(self, key: str) -> str:
        return f"{self.url_prefix}/{key}"


class S3Storage:
    """An S3-compatible bucket (AWS S3, MinIO, Ceph, moto, ...) through boto3."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        url_prefix: str = "/media",
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.url_prefix = url_prefix
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region or "us-east-1",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=20),
        )

    def _extra(self, key: str, content_type: str | None) -> dict:
        return {"ContentType": content_type or mimetypes.guess_type(key)[0] or "application/octet-stream"}

    def save(self, key: str, data: bytes, content_type: str | None = None) -> str:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **self._extra(key, content_type))
        return key

    def save_file(self, key: str, path: Path, content_type: str | None = None) -> str:
        """Multipart upload straight from disk for large files."""
        self.client.upload_file(str(path), self.bucket, key, ExtraArgs=self._extra(key, content_type))
        return key

    def read(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(key) from exc

    def stream(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        ranged = {} if start == 0 and end is None else {"Range": f"bytes={start}-{'' if end is None else end}"}
        body = self.client.get_object(Bucket=self.bucket, Key=key, **ranged)["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def size(self, key: str) -> int:
        return self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def local_path(self, key: str) -> Path | None:
        return None

    def url(self, key: str) -> str:
        return f"{self.url_prefix}/{key}"


def from_settings(settings) -> LocalStorage | S3Storage:
    if settings.s3_bucket:
        return S3Storage(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
        )
    return LocalStorage(settings.media_dir)


def file_response(storage, key: str, media_type: str, headers: dict[str, str] | None = None) -> Response:
    """The whole stored object: a FileResponse on local disk, streamed otherwise."""
    path = storage.local_path(key)
    if path is not None:
        return FileResponse(path, media_type=media_type, headers=headers)
    return StreamingResponse(storage.stream(key), media_type=media_type, headers=headers)


# Public media (avatars): served from whichever backend is configured, cacheable forever
# because every key carries a fresh random token.
router = APIRouter(include_in_schema=False)


@router.get("/media/avatars/{rest:path}")
async def public_media(rest: str) -> Response:
    from smile.kit import runtime

    storage = runtime.current().storage
    key = f"avatars/{rest}"
    try:
        parts = key.split("/")
        found = (
            key.startswith(PUBLIC_PREFIXES)
            and "\\" not in key
            and not any(p in ("", ".", "..") for p in parts)
            and await asyncio.to_thread(storage.exists, key)
        )
    except ValueError:  # a key escaping the media root
        found = False
    if not found:
        raise NotFound()
    media_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    return file_response(storage, key, media_type, {"Cache-Control": "public, max-age=31536000, immutable"})
