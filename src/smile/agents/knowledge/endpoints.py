"""Knowledge JSON API: /api/v1/agents/{agent_id}/knowledge (the agent's owner only; others get 404)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from smile.agents.knowledge import service
from smile.agents.knowledge.schemas import DocumentDetail, DocumentOut, Reindexing, SearchHit, TextIn
from smile.identity.auth import DB, CurrentUser
from smile.kit.errors import Invalid, TooLarge, UnsupportedMedia, responses
from smile.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from smile.kit.requests import DBRoute

router = APIRouter(prefix="/api/v1/agents/{agent_id}/knowledge", route_class=DBRoute, tags=["agents"])
Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
FORM_OVERHEAD = 64 * 1024

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "A .txt, .md, .pdf, .html, .csv or .docx file, at most 10 MB",
                        },
                        "title": {"type": "string", "maxLength": 200},
                    },
                }
            },
            "application/json": {"schema": TextIn.model_json_schema()},
        },
    }
}


def _too_large() -> TooLarge:
    return TooLarge(
        f"The file is larger than {service.MAX_FILE_BYTES // (1024 * 1024)} MB. Upload a smaller file or split it.",
        fields={"file": "too large"},
    )


async def read_upload(request: Request) -> dict:
    """The add-document arguments from a multipart upload or a JSON body of pasted text."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            body = TextIn.model_validate_json(await request.body())
        except ValidationError as exc:
            fields = {".".join(map(str, e["loc"])) or "body": e["msg"] for e in exc.errors()}
            raise Invalid('Send {"title", "text"} with the text to add.', fields=fields) from None
        return {"title": body.title, "text": body.text}
    if ctype != "multipart/form-data":
        raise UnsupportedMedia('Send a file as multipart/form-data (field `file`), or JSON {"title", "text"}.')
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > service.MAX_FILE_BYTES + FORM_OVERHEAD:
        raise _too_large()
    form = await request.form(max_files=1, max_fields=8)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise Invalid("Choose a file to upload.", fields={"file": "required"})
    data = await upload.read(service.MAX_FILE_BYTES + 1)
    if len(data) > service.MAX_FILE_BYTES:
        raise _too_large()
    if not data:
        raise Invalid("The file is empty.", fields={"file": "empty"})
    title = form.get("title")
    return {"filename": upload.filename, "data": data, "title": title if isinstance(title, str) else None}


@router.post(
    "",
    response_model=DocumentOut,
    status_code=201,
    openapi_extra=UPLOAD_BODY,
    responses=responses(401, 404, 409, 413, 415, 422),
)
async def add_document(agent_id: uuid.UUID, request: Request, me: CurrentUser, db: DB) -> DocumentOut:
    """Upload a file (multipart `file`, optional `title`) or paste text (JSON); it is chunked and embedded now."""
    return DocumentOut.of(await service.add_document(db, me.id, agent_id, **await read_upload(request)))


@router.get("", response_model=Page[DocumentOut], responses=responses(401, 404))
async def list_documents(
    agent_id: uuid.UUID, me: CurrentUser, db: DB, cursor: str | None = None, limit: int = Limit
) -> Page[DocumentOut]:
    rows, next_cursor = await service.list_documents(db, me.id, agent_id, cursor, limit)
    return Page(items=[DocumentOut.of(d) for d in rows], next_cursor=next_cursor)


@router.get("/search", response_model=list[SearchHit], responses=responses(401, 404, 422))
async def search(
    agent_id: uuid.UUID,
    me: CurrentUser,
    db: DB,
    q: Annotated[str, Query(min_length=1, max_length=2000)],
    k: Annotated[int, Query(ge=1, le=20)] = 5,
) -> list[SearchHit]:
    """What the agent would retrieve for `q` (to check that a document is found)."""
    await service.owned_agent(db, me.id, agent_id)
    return [
        SearchHit(id=c.id, document_id=c.document_id, title=c.title, heading=c.heading, text=c.text, score=c.score)
        for c in await service.retrieve(db, agent_id, q, k)
    ]


@router.post("/reindex", response_model=Reindexing, status_code=202, responses=responses(401, 404))
async def reindex_all(agent_id: uuid.UUID, me: CurrentUser, db: DB) -> Reindexing:
    """Re-chunk and re-embed every document (a background job); their status is `indexing` until done."""
    return Reindexing(documents=await service.request_reindex(db, me.id, agent_id))


@router.get("/{document_id}", response_model=DocumentDetail, responses=responses(401, 404))
async def get_document(agent_id: uuid.UUID, document_id: uuid.UUID, me: CurrentUser, db: DB) -> DocumentDetail:
    document, chunks = await service.get_document(db, me.id, agent_id, document_id)
    return DocumentDetail.detail(document, chunks, service.PREVIEW_CHARS)


@router.post("/{document_id}/reindex", response_model=Reindexing, status_code=202, responses=responses(401, 404))
async def reindex_one(agent_id: uuid.UUID, document_id: uuid.UUID, me: CurrentUser, db: DB) -> Reindexing:
    return Reindexing(documents=await service.request_reindex(db, me.id, agent_id, document_id))


@router.delete("/{document_id}", status_code=204, responses=responses(401, 404))
async def delete_document(agent_id: uuid.UUID, document_id: uuid.UUID, me: CurrentUser, db: DB) -> Response:
    await service.delete_document(db, me.id, agent_id, document_id)
    return Response(status_code=204)
