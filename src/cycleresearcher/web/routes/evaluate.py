"""A run's paper-quality table (``evaluate papers`` on the run, ``app.evaluate``): as JSON at
``/api/runs/<run>/evaluate``, and on the run's page once it holds reviews. Nothing is written:
the files of ``evaluate papers -o`` are the CLI's to make."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...errors import CycleResearcherError
from ..site import SiteDep

router = APIRouter()


def paper_quality(
    run: Path, accept_threshold: float | None = None, ci: bool = False, seed: int = 0, novelty: bool = False
) -> dict[str, Any]:
    """The table as JSON (``ResultTable.to_dict``) and the warnings, or ``{"error": why}``."""
    from ...app.evaluate import PapersRequest, evaluate_papers
    from ...app.report import Collect

    report = Collect()
    request = PapersRequest([run], "run", None, accept_threshold, ci, seed, novelty, write=False)
    try:
        result = evaluate_papers(request, report)
    except CycleResearcherError as exc:  # e.g. a run with papers and no review: review them first
        return {"error": str(exc)}
    return result.table.to_dict() | {"warnings": report.warnings}


@router.get("/api/runs/{run}/evaluate")
def evaluate_api(
    run: str,
    site: SiteDep,
    accept_threshold: float | None = None,
    ci: bool = False,
    seed: int = 0,
    novelty: bool = False,
) -> Response:
    try:
        path = site.run_path(run)
    except StarletteHTTPException:
        return JSONResponse({"error": "no such run"}, status_code=404)
    table = paper_quality(path, accept_threshold, ci, seed, novelty)
    return JSONResponse(table, status_code=400 if "error" in table else 200)
