"""Knowledge HTML pages: /agents/{agent_id}/knowledge (list, upload or paste, preview, delete, re-index).

The section itself is the partial agents/_knowledge.html, so the agent pages can include it; it needs
`agent`, `documents`, `embedded` and `csrf_token` in its context (see `section_context`).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from smile.agents.knowledge import service
from smile.identity.auth import DB, CurrentUser
from smile.kit.errors import AppError
from smile.kit.requests import DBRoute
from smile.web.render import flash, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)
BASE = "/agents/{agent_id}/knowledge"


async def section_context(db, owner_id: uuid.UUID, agent_id: uuid.UUID) -> dict:
    """What agents/_knowledge.html needs (404 unless `owner_id` runs the agent)."""
    agent = await service.owned_agent(db, owner_id, agent_id)
    documents, _ = await service.list_documents(db, owner_id, agent_id, limit=100)
    return {
        "agent": agent,
        "documents": documents,
        "embedded": service.embeddings_usable(),
        "limits": {
            "file_mb": service.MAX_FILE_BYTES // (1024 * 1024),
            "chunks": service.MAX_CHUNKS_PER_AGENT,
            "used": sum(d.chunks_count for d in documents),
        },
    }


@router.get(BASE, response_class=HTMLResponse)
async def knowledge_page(agent_id: uuid.UUID, request: Request, me: CurrentUser, db: DB) -> Response:
    return render(request, "agents/knowledge.html", await section_context(db, me.id, agent_id))


@router.post(BASE)
async def add(agent_id: uuid.UUID, request: Request, me: CurrentUser, db: DB) -> Response:
    await service.owned_agent(db, me.id, agent_id)
    form = await request.form(max_files=1, max_fields=8)
    upload, title, text = form.get("file"), str(form.get("title") or ""), str(form.get("text") or "")
    try:
        if isinstance(upload, UploadFile) and upload.filename:
            document = await service.add_document(
                db,
                me.id,
                agent_id,
                title=title,
                filename=upload.filename,
                data=await upload.read(service.MAX_FILE_BYTES + 1),
            )
        else:
            document = await service.add_document(db, me.id, agent_id, title=title, text=text)
    except AppError as exc:
        if exc.status == 404:
            raise
        flash(request, exc.message, "error")
    else:
        note = "" if document.embedded else " (found by its words only: embeddings are not installed)"
        flash(request, f"Added “{document.title}”: {document.chunks_count} passages{note}.", "success")
    return redirect(BASE.format(agent_id=agent_id), request)


@router.get(BASE + "/{document_id}", response_class=HTMLResponse)
async def preview(agent_id: uuid.UUID, document_id: uuid.UUID, request: Request, me: CurrentUser, db: DB) -> Response:
    document, chunks = await service.get_document(db, me.id, agent_id, document_id)
    return render(
        request,
        "agents/knowledge_document.html",
        {
            "agent_id": agent_id,
            "document": document,
            "chunks": chunks,
            "preview": document.text[: service.PREVIEW_CHARS],
        },
    )


@router.post(BASE + "/{document_id}/delete")
async def remove(agent_id: uuid.UUID, document_id: uuid.UUID, request: Request, me: CurrentUser, db: DB) -> Response:
    await service.delete_document(db, me.id, agent_id, document_id)
    flash(request, "Document deleted; the agent no longer uses it.", "success")
    return redirect(BASE.format(agent_id=agent_id), request)


@router.post(BASE + "/reindex")
async def reindex(agent_id: uuid.UUID, request: Request, me: CurrentUser, db: DB) -> Response:
    count = await service.request_reindex(db, me.id, agent_id)
    flash(request, f"Re-indexing {count} document(s) in the background.", "success")
    return redirect(BASE.format(agent_id=agent_id), request)
