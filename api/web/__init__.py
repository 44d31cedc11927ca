"""The web page for the people in the loop: server-rendered shells over the same REST API.

The pages hold no rules of their own. Their scripts call `/api/v1/...` like any other client and
show the API's error messages; what the server renders here is layout plus facts taken from the
API's own models (the stages, the statuses, the option limits), so the page cannot drift from
the contract.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from api.errors import ApiError
from api.routes import API_PREFIX
from api.schemas import RunOptionsBody
from domain.run import TERMINAL_STATUSES, RunStatus, Stage

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")

# Only these files are served, so a crafted path can never reach outside the folder.
STATIC_FILES = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}
MEDIA_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}

# Everything on the pages comes from our own origin; no inline script can run, so text that a
# model or a user wrote cannot become code even if a bug let it into the markup.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

# The options a person may set on the start form; limits and defaults come from the API model.
FORM_OPTIONS = (
    "depth",
    "breadth",
    "max_sources",
    "max_questions",
    "max_revisions",
    "clarify",
    "require_plan_approval",
    "require_acceptance",
)

router = APIRouter(include_in_schema=False)


def option_fields() -> list[dict[str, Any]]:
    schema = RunOptionsBody.model_json_schema()["properties"]
    fields = []
    for name in FORM_OPTIONS:
        prop = schema[name]
        fields.append(
            {
                "name": name,
                "label": name.replace("_", " ").capitalize(),
                "type": "checkbox" if prop.get("type") == "boolean" else "number",
                "default": prop.get("default"),
                "min": prop.get("minimum"),
                "max": prop.get("maximum"),
                "help": prop.get("description", ""),
            }
        )
    return fields


def _page(request: Request, template: str, **context: Any) -> HTMLResponse:
    context |= {"api": API_PREFIX, "stages": [s.value for s in Stage]}
    response = templates.TemplateResponse(request, template, context)
    response.headers.update(SECURITY_HEADERS)
    return response


@router.get("/", response_class=HTMLResponse)
async def runs_page(request: Request) -> HTMLResponse:
    """The list of runs and the form to start one."""
    statuses = [s.value for s in RunStatus]
    return _page(request, "index.html", options=option_fields(), statuses=statuses)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
async def run_page(request: Request, run_id: str) -> HTMLResponse:
    """One run, live: its stage, the input it waits for, and its report with sources."""
    # The id is not checked here: the page asks the API, and shows the API's answer if unknown.
    terminal = sorted(s.value for s in TERMINAL_STATUSES)
    return _page(request, "run.html", run_id=run_id, terminal=terminal)


@router.get("/static/{name}")
async def static_file(name: str) -> FileResponse:
    """The page's stylesheet and scripts."""
    path = STATIC_FILES.get(name)
    if path is None:
        raise ApiError(404, "not_found", "no such file")
    media_type = MEDIA_TYPES.get(path.suffix, "application/octet-stream")
    # no-cache still lets the browser revalidate cheaply, but a new release shows at once.
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "no-cache"})
