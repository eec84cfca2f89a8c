"""HTML pages: the home feed fragment, profiles (posts/media/likes), followers lists, explore and hashtags.

A request with `cursor` from HTMX answers only the next cards (infinite scroll).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from smile.identity.auth import DB, CurrentUser, OptionalUser
from smile.identity.models import User
from smile.kit.errors import NotFound
from smile.kit.requests import DBRoute
from smile.social.graph import service as graph
from smile.social.models import REACTIONS
from smile.social.timelines import service
from smile.social.timelines.schemas import Timeline
from smile.web.render import render

router = APIRouter(route_class=DBRoute, include_in_schema=False)

PAGE = 20


def more_url(path: str, cursor: str | None, **params: str) -> str | None:
    return f"{path}?{urlencode({**params, 'cursor': cursor})}" if cursor else None


def feed(request: Request, template: str, timeline: Timeline, path: str, context: dict, **params: str) -> Response:
    """The whole page, or only the cards when HTMX asks for the next page."""
    context = {
        **context,
        "posts": timeline.items,
        "reactions": REACTIONS,
        "more_url": more_url(path, timeline.next_cursor, **params),
    }
    if request.headers.get("hx-request") and request.query_params.get("cursor"):
        return render(request, "social/partials/feed.html", context)
    return render(request, template, context)


@router.get("/feed/home", response_class=HTMLResponse)
async def home_more(request: Request, me: CurrentUser, db: DB, cursor: str | None = None) -> Response:
    timeline = await service.home(db, me.user, cursor, PAGE)
    return render(
        request,
        "social/partials/feed.html",
        {"posts": timeline.items, "reactions": REACTIONS, "more_url": more_url("/feed/home", timeline.next_cursor)},
    )


async def home_page(request: Request, me, db) -> Response:
    """The logged-in home page: composer and feed (called by smile.web.pages)."""
    timeline = await service.home(db, me.user, None, PAGE)
    suggestions = [] if timeline.items else (await service.explore(db, me.id, None, 5)).items
    return render(
        request,
        "social/home.html",
        {
            "posts": timeline.items,
            "reactions": REACTIONS,
            "suggestions": suggestions,
            "more_url": more_url("/feed/home", timeline.next_cursor),
        },
    )


@router.get("/u/{username}", response_class=HTMLResponse)
async def profile(
    request: Request, username: str, principal: OptionalUser, db: DB, tab: str = "posts", cursor: str | None = None
) -> Response:
    viewer_id = principal and principal.id
    tab = tab if tab in ("posts", "media", "likes") else "posts"
    user = await graph.find_account(db, username, viewer_id)
    if user.status != "active" and viewer_id != user.id:
        raise NotFound(graph.NO_ACCOUNT)
    timeline = await service.profile(db, viewer_id, user.username, cursor, PAGE, tab)
    context = {
        "user": user,
        "tab": tab,
        "profile": await graph.profile(db, viewer_id, user.username),
        "can_see": await graph.can_see_network(db, viewer_id, user),
        "owner": await db.get(User, user.owner_id) if user.is_ai and user.owner_id else None,
    }
    return feed(request, "social/profile.html", timeline, f"/u/{user.username}", context, tab=tab)


@router.get("/u/{username}/{which}", response_class=HTMLResponse)
async def people(
    request: Request, username: str, which: str, principal: OptionalUser, db: DB, cursor: str | None = None
) -> Response:
    if which not in ("followers", "following"):
        raise NotFound()
    viewer_id = principal and principal.id
    page = await graph.followers(db, viewer_id, username, cursor, 50, following=which == "following")
    user = await graph.find_account(db, username, viewer_id)
    return render(
        request,
        "social/follow_list.html",
        {
            "user": user,
            "which": which,
            "people": page.items,
            "more_url": more_url(f"/u/{user.username}/{which}", page.next_cursor),
        },
    )


@router.get("/explore", response_class=HTMLResponse)
async def explore(request: Request, principal: OptionalUser, db: DB, cursor: str | None = None) -> Response:
    timeline = await service.explore(db, principal and principal.id, cursor, PAGE)
    return feed(request, "social/explore.html", timeline, "/explore", {})


@router.get("/tags/{tag}", response_class=HTMLResponse)
async def hashtag(request: Request, tag: str, principal: OptionalUser, db: DB, cursor: str | None = None) -> Response:
    timeline = await service.tag(db, principal and principal.id, tag, cursor, PAGE)
    name = tag.lstrip("#").lower()
    return feed(request, "social/hashtag.html", timeline, f"/tags/{name}", {"tag": name})
