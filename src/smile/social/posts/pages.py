"""HTML pages and HTMX fragments: the post page, the composer, and reactions/comments/polls in place."""

from __future__ import annotations

import html
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from smile.identity.auth import DB, OptionalUser, VerifiedUser
from smile.kit.errors import AppError
from smile.kit.redirects import back
from smile.kit.requests import DBRoute
from smile.social.models import REACTIONS
from smile.social.posts import comments, engage, polls, service
from smile.social.posts.schemas import PollIn, PostIn, PostUpdate
from smile.social.posts.views import present_one
from smile.social.visibility import get_visible_post
from smile.web.render import flash, redirect, render

router = APIRouter(route_class=DBRoute, include_in_schema=False)


def _htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


def _problem(request: Request, message: str, target: str) -> Response:
    """Show a form error in place (HTMX) or as a flash on the previous page."""
    if _htmx(request):
        return HTMLResponse(
            f'<p class="field-error" role="alert">{html.escape(message)}</p>',
            headers={"HX-Retarget": target, "HX-Reswap": "innerHTML"},
        )
    flash(request, message, "error")
    return redirect(back(request), request)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
    return exc.message if isinstance(exc, AppError) else str(exc)


def _card(request: Request, post) -> Response:
    return render(request, "social/partials/post.html", {"p": post, "reactions": REACTIONS})


@router.get("/posts/{post_id}", response_class=HTMLResponse)
async def post_page(request: Request, post_id: uuid.UUID, me: OptionalUser, db: DB) -> Response:
    viewer = me.id if me else None
    post = await present_one(db, viewer, await get_visible_post(db, viewer, post_id))
    thread, next_cursor = await comments.thread(db, viewer, post_id, request.query_params.get("cursor"), 50)
    return render(
        request,
        "social/post.html",
        {"p": post, "comments": thread, "next_cursor": next_cursor, "reactions": REACTIONS, "full": True},
    )


@router.post("/posts", response_class=HTMLResponse)
async def compose(request: Request, me: VerifiedUser, db: DB) -> Response:
    """The composer: returns the new post card to prepend (HTMX) or redirects to the post."""
    form = await request.form()
    options = [o.strip() for o in form.getlist("poll_option") if isinstance(o, str) and o.strip()]
    try:
        data = PostIn(
            body=str(form.get("body") or ""),
            visibility=str(form.get("visibility") or "public"),
            content_warning=str(form.get("content_warning") or "") or None,
            media_ids=[m for m in form.getlist("media_id") if isinstance(m, str) and m],
            quote_of_id=str(form.get("quote_of_id") or "") or None,
            poll=PollIn(options=options, expires_in_minutes=int(form.get("poll_minutes") or 1440)) if options else None,
        )
        post = await service.create(db, me.user, data)
    except (ValidationError, AppError, ValueError) as exc:
        return _problem(request, _message(exc), "#composer-error")
    out = await present_one(db, me.id, post)
    if not _htmx(request):
        flash(request, "Posted." if out.status == "visible" else "Your post is waiting for review.", "success")
        return redirect(out.url, request)
    return _card(request, out)


@router.post("/posts/{post_id}/edit", response_class=HTMLResponse)
async def edit(request: Request, post_id: uuid.UUID, me: VerifiedUser, db: DB) -> Response:
    form = await request.form()
    try:
        data = PostUpdate(body=str(form.get("body") or ""), content_warning=str(form.get("content_warning") or ""))
        await service.edit(db, me.user, post_id, data)
    except (ValidationError, AppError) as exc:
        return _problem(request, _message(exc), f"#post-{post_id}-error")
    flash(request, "Post updated.", "success")
    return redirect(f"/posts/{post_id}", request)


@router.post("/posts/{post_id}/delete", response_class=HTMLResponse)
async def delete(request: Request, post_id: uuid.UUID, me: VerifiedUser, db: DB) -> Response:
    await service.remove(db, me.user, post_id)
    if _htmx(request) and request.headers.get("hx-target"):
        return HTMLResponse("")
    flash(request, "Post deleted.", "success")
    return redirect("/", request)


@router.post("/posts/{post_id}/react", response_class=HTMLResponse)
async def react(request: Request, post_id: uuid.UUID, me: VerifiedUser, db: DB) -> Response:
    """Toggle a reaction: the same kind again removes it. Returns the reaction bar."""
    kind = str((await request.form()).get("kind") or "like")
    if kind not in REACTIONS:
        return _problem(request, "Unknown reaction.", f"#post-{post_id}-error")
    current = await engage.state(db, me.id, (await get_visible_post(db, me.id, post_id)).id)
    if current.my_reaction == kind:
        await engage.unreact(db, me.user, post_id)
    else:
        await engage.react(db, me.user, post_id, kind)
    return await _fragment(request, db, me.id, post_id, "social/post_reactions.html")


@router.post("/posts/{post_id}/bookmark", response_class=HTMLResponse)
async def bookmark(request: Request, post_id: uuid.UUID, me: VerifiedUser, db: DB) -> Response:
    post = await present_one(db, me.id, await get_visible_post(db, me.id, post_id))
    await engage.bookmark(db, me.user, post_id, not post.bookmarked)
    return await _fragment(request, db, me.id, post_id, "social/post_actions.html")


@router.post("/posts/{post_id}/repost", response_class=HTMLResponse)
async def repost(request: Request, post_id: uuid.UUID, me: VerifiedUser, db: DB) -> Response:
    try:
        await service.repost(db, me.user, post_id)
        flash(request, "Reposted.", "success")
    except AppError as exc:
        if exc.status == 409:
            await service.unrepost(db, me.user, post_id)
            flash(request, "Repost removed.", "success")
        else:
            return _problem(request, exc.message, f"#post-{post_id}-error")
    return redirect(f"/posts/{post_id}", request)


@router.post("/posts/{post_id}/pin", response_class=HTMLResponse)
async def pin(request: Request, post_id: uuid.UUID, me: VerifiedUser, db: DB) -> Response:
    post = await present_one(db, me.id, await service.own_post(db, me.user, post_id))
    try:
        await engage.pin(db, me.user, post_id, not post.pinned)
    except AppError as exc:
        return _problem(request, exc.message, f"#post-{post_id}-error")
    flash(request, "Unpinned." if post.pinned else "Pinned to your profile.", "success")
    return redirect(f"/posts/{post_id}", request)


@router.post("/posts/{post_id}/vote", response_class=HTMLResponse)
async def vote(request: Request, post_id: uuid.UUID, me: VerifiedUser, db: DB) -> Response:
    try:
        option_id = uuid.UUID(str((await request.form()).get("option_id") or ""))
        await polls.vote(db, me.user, post_id, option_id)
    except ValueError:
        return _problem(request, "Choose an option.", f"#post-{post_id}-error")
    except AppError as exc:
        return _problem(request, exc.message, f"#post-{post_id}-error")
    return await _fragment(request, db, me.id, post_id, "social/partials/poll.html")


@router.post("/posts/{post_id}/comments", response_class=HTMLResponse)
async def comment(request: Request, post_id: uuid.UUID, me: VerifiedUser, db: DB) -> Response:
    form = await request.form()
    parent = str(form.get("parent_id") or "")
    target = f"#reply-{parent}-error" if parent else "#comment-error"
    try:
        created = await comments.create(
            db, me.user, post_id, str(form.get("body") or ""), uuid.UUID(parent) if parent else None
        )
    except ValueError:
        return _problem(request, "That comment does not exist.", target)
    except AppError as exc:
        return _problem(request, exc.message, target)
    if not _htmx(request):
        return redirect(f"/posts/{post_id}#comment-{created.id}", request)
    out = await comments.get_out(db, me.user, created)
    return render(request, "social/partials/comment.html", {"c": out, "p": {"id": post_id}, "depth": 1})


@router.post("/comments/{comment_id}/delete", response_class=HTMLResponse)
async def delete_comment(request: Request, comment_id: uuid.UUID, me: VerifiedUser, db: DB) -> Response:
    await comments.remove(db, me.user, comment_id)
    if _htmx(request):
        return HTMLResponse('<p class="muted">Comment deleted.</p>')
    flash(request, "Comment deleted.", "success")
    return redirect(back(request), request)


async def _fragment(request: Request, db, viewer_id, post_id: uuid.UUID, template: str) -> Response:
    post = await present_one(db, viewer_id, await get_visible_post(db, viewer_id, post_id))
    if not _htmx(request):
        return redirect(f"/posts/{post_id}", request)
    return render(request, template, {"p": post, "reactions": REACTIONS})
