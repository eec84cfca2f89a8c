"""The search page: /search?q=&tab=people|posts|tags (HTMX swaps the results and loads more)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from smile.identity.auth import DB, OptionalUser
from smile.kit.errors import Invalid
from smile.kit.requests import DBRoute
from smile.social.models import REACTIONS
from smile.social.search import service
from smile.web.render import render

router = APIRouter(route_class=DBRoute, include_in_schema=False)

TABS = {"people": "People", "posts": "Posts", "tags": "Hashtags"}
PAGE = 20


@router.get("/search", response_class=HTMLResponse)
async def search_page(
    request: Request, db: DB, me: OptionalUser, q: str = "", tab: str = "people", cursor: str | None = None
) -> Response:
    tab = tab if tab in TABS else "people"
    q = " ".join(q.split())[: service.MAX_QUERY]
    viewer = me.id if me else None
    page, error = None, None
    if q:
        try:
            if tab == "people":
                page = await service.people_page(db, viewer, q, cursor, PAGE)
            elif tab == "posts":
                page = await service.posts_page(db, viewer, q, cursor, PAGE)
            else:
                page = await service.hashtags_page(db, q, cursor, PAGE)
        except Invalid as exc:
            error = exc.message
    context = {
        "q": q,
        "tab": tab,
        "tabs": TABS,
        "page": page,
        "error": error,
        "reactions": REACTIONS,
        "more": bool(cursor),
    }
    if request.headers.get("hx-request"):
        return render(request, "social/search_results.html", context)
    return render(request, "social/search.html", context)
