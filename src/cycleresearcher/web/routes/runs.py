"""The list of runs and one run's page (its papers, reviews, detections, documents, paper-quality
table and jobs)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ...detect.report import upgrade
from ...store import RunStore
from ..site import SiteDep
from .evaluate import paper_quality

router = APIRouter()


@router.get("/runs", response_class=HTMLResponse)
async def runs_page(request: Request, site: SiteDep) -> Response:
    return site.page(request, "runs.html", {"runs": site.runs()})


@router.get("/runs/{run}", response_class=HTMLResponse)
async def run_page(request: Request, run: str, site: SiteDep) -> Response:
    path = site.run_path(run)
    with RunStore(path, create=False) as store:
        papers = [(k, d) for k, d in store.items("paper")]
        reviews = dict(store.items("review"))
        detections = dict(store.items("detection"))
        documents = [(k, d) for k, d in store.items("document")]
        command = store.get_meta("command", "")
    shown = {k for k, _ in papers} | {k for k, _ in documents}
    ctx = {
        # texts scored by `detect -o` (no paper or upload of this run): listed with their own file
        "texts": [upgrade(k, d) for k, d in detections.items() if k not in shown],
        "run": run,
        "papers": papers,
        "reviews": reviews,
        "detections": detections,
        "documents": documents,
        "command": command,
        "jobs": site.runner.for_run(run),
        # the table of `evaluate papers` on this run, once it holds reviews
        "quality": paper_quality(path) if reviews else None,
    }
    return site.page(request, "run.html", ctx)
