"""Seeds 000/001's operational endpoints at the root: the same functions as /api/v1/health and
/api/v1/metrics (open without a key, like those: api/guard.py). `/docs` is the app's own."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.contracts.research_api import TAG
from api.routes import meta
from api.schemas import Health

router = APIRouter(tags=[TAG])

router.get("/health", response_model=Health)(meta.health)
router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})(
    meta.metrics
)
