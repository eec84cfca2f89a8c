from fastapi import APIRouter

from smile.kit.requests import DBRoute

router = APIRouter(route_class=DBRoute, include_in_schema=False)
