"""Stream a multipart/form-data request body to a temporary file, enforcing a size limit.

The body is never held in memory: python-multipart parses it chunk by chunk as it arrives
from `request.stream()`, and the file part is written straight to disk. An upload over the
limit is refused (413) as soon as it is known to be too large: a request body over the limit
plus form overhead by `smile.kit.requests.BodyLimit` before anything reads it, a file part
over the limit by counting here.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.exceptions import HTTPException

from smile.kit.errors import AppError, Invalid, TooLarge

MAX_FIELD = 8 * 1024


@dataclass
class Upload:
    path: Path | None = None
    filename: str = ""
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"The file is larger than {limit // (1024 * 1024) or 1} MB. Upload a smaller file.")


async def receive(request: Request, limit: int, file_field: str = "file") -> Upload:
    """Parse the form; the file part goes to a temp file the caller must `discard()`."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise Invalid("Send the file as multipart/form-data with a `file` field.", fields={"file": "required"})

    form = getattr(request, "_form", None)
    if form is not None:  # already parsed (a cookie CSRF check read the csrf_token field)
        return await _from_form(form, limit, file_field)

    upload = Upload()
    state: dict = {"headers": {}, "name": None, "field": "", "value": "", "sink": None, "buf": bytearray()}
    errors: list[AppError] = []

    def on_part_begin() -> None:
        state.update(headers={}, name=None, sink=None, buf=bytearray())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end].decode("latin-1")

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end].decode("latin-1")

    def on_header_end() -> None:
        state["headers"][state["field"].lower()] = state["value"]
        state["field"] = state["value"] = ""

    def on_headers_finished() -> None:
        _, disp = parse_options_header(state["headers"].get("content-disposition", ""))
        state["name"] = (disp.get(b"name") or b"").decode()
        if state["name"] == file_field and b"filename" in disp and upload.path is None:
            fd, name = tempfile.mkstemp(prefix="smile-upload-")
            upload.path = Path(name)
            upload.filename = disp[b"filename"].decode(errors="replace")
            state["sink"] = os.fdopen(fd, "wb")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if errors:
            return
        sink = state["sink"]
        if sink is not None:
            upload.size += end - start
            if upload.size > limit:
                errors.append(_too_large(limit))
                return
            sink.write(data[start:end])
        else:
            state["buf"] += data[start:end]
            if len(state["buf"]) > MAX_FIELD:
                errors.append(Invalid(f"The field {state['name']!r} is too long."))

    def on_part_end() -> None:
        if state["sink"] is not None:
            state["sink"].close()
            state["sink"] = None
        elif state["name"]:
            upload.fields[state["name"]] = bytes(state["buf"]).decode("utf-8", errors="replace")

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if errors:
                raise errors[0]
        parser.finalize()
    except (AppError, HTTPException):  # ours, or the body limit's 413
        if state["sink"] is not None:
            state["sink"].close()
        upload.discard()
        raise
    except Exception as exc:  # a malformed body
        if state["sink"] is not None:
            state["sink"].close()
        upload.discard()
        raise Invalid("The upload is not a valid multipart/form-data body.") from exc
    if upload.path is None or upload.size == 0:
        upload.discard()
        raise Invalid("Choose a file to upload.", fields={"file": "required"})
    return upload


async def _from_form(form, limit: int, file_field: str) -> Upload:
    """Starlette already spooled the parts to disk; copy the file part out in chunks."""
    upload = Upload(fields={k: v for k, v in form.items() if isinstance(v, str)})
    part = form.get(file_field)
    if part is None or isinstance(part, str):
        raise Invalid("Choose a file to upload.", fields={"file": "required"})
    fd, name = tempfile.mkstemp(prefix="smile-upload-")
    upload.path, upload.filename = Path(name), part.filename or ""
    with os.fdopen(fd, "wb") as sink:
        while chunk := await part.read(1024 * 1024):
            upload.size += len(chunk)
            if upload.size > limit:
                sink.close()
                upload.discard()
                raise _too_large(limit)
            sink.write(chunk)
    if upload.size == 0:
        upload.discard()
        raise Invalid("Choose a file to upload.", fields={"file": "required"})
    return upload
