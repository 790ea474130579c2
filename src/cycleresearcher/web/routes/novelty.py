"""Check a paper of a run for close prior work (offline: its references and the enrichment cache),
from its page; the result shows in the paper page's Novelty check card (docs/novelty.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from ..site import SiteDep, submit_redirect

router = APIRouter()


@router.post("/runs/{run}/papers/{pid}/novelty")
async def novelty_action(run: str, pid: str, site: SiteDep) -> Response:
    paper = site.record(run, "paper", pid)
    run_dir = site.run_path(run)

    def task(ctx: Any) -> str:
        from ...novelty import NoveltyChecker
        from ...novelty.files import save_to_run
        from ...novelty.subjects import subject_from_paper

        ctx.progress(message="searching the paper's references and the enrichment cache")
        save_to_run(run_dir, NoveltyChecker().check(subject_from_paper(paper, f"{run_dir}#{pid}")))
        return f"/runs/{run}/papers/{pid}#novelty"

    job = site.runner.submit("novelty", run, task, label=f"novelty {pid}", params={"target": pid})
    return submit_redirect(job.id)
