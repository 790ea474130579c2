"""Check a paper of a run for close prior work (offline: its references and the enrichment cache),
from its page, through the same use case as ``research novelty`` (``app.novelty``); the result
shows in the paper page's Novelty check card (docs/novelty.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from ..site import SiteDep, submit_redirect

router = APIRouter()


@router.post("/runs/{run}/papers/{pid}/novelty")
async def novelty_action(run: str, pid: str, site: SiteDep) -> Response:
    site.record(run, "paper", pid)  # an unknown paper is a 404, not a job
    run_dir = site.run_path(run)

    def task(ctx: Any) -> str:
        from ...app.novelty import NoveltyRequest, check_novelty

        check_novelty(NoveltyRequest(papers=[run_dir], paper_ids=[pid]), ctx)
        return f"/runs/{run}/papers/{pid}#novelty"

    job = site.runner.submit("novelty", run, task, label=f"novelty {pid}", params={"target": pid})
    return submit_redirect(job.id)
