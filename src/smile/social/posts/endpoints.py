from fastapi import APIRouter

from smile.kit.requests import DBRoute

router = APIRouter(prefix="/api/v1", route_class=DBRoute, tags=["social"])
