"""subscriptions: HTML pages."""

from __future__ import annotations

from fastapi import APIRouter

from smile.kit.requests import DBRoute

router = APIRouter(route_class=DBRoute)
