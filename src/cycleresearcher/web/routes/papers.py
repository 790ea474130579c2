"""A paper's page and its downloads: paper.json, the LaTeX project as a zip, the PDF, the figures."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...app.runfolder import RunFolder
from ...paper.export.html import paper_context
from ...paper.export.run_files import pdf_problems
from ...paper.record import Stage
from ...store import RunStore
from ..render import FIGURE_NAME, experiments, paper_sections, paper_text, review_view, with_figures
from ..site import Site, SiteDep

router = APIRouter()


@router.get("/runs/{run}/papers/{pid}", response_class=HTMLResponse)
async def paper_page(request: Request, run: str, pid: str, site: SiteDep) -> Response:
    return show_paper(request, site, run, pid)


def show_paper(
    request: Request, site: Site, run: str, pid: str, complete_error: str | None = None,
    complete_form: dict[str, Any] | None = None,
) -> Response:  # fmt: skip
    """The paper page; a refused results upload is shown in its card (``complete_error``), with
    the fields typed there kept (``complete_form``)."""
    paper = site.record(run, "paper", pid)
    path = site.run_path(run)
    with RunStore(path, create=False) as store:
        review = store.get("review", pid)
        detection = store.get("detection", pid)
        novelty = store.get("novelty", pid)  # `research novelty` / `generate --novelty`
    awaiting = Stage.of(paper.get("meta")) is Stage.AWAITING_RESULTS
    folder = RunFolder(path).paper_dir(pid)
    tex = paper_context(paper)  # the paper's citations and labels, for every text on the page
    ctx = {
        "run": run, "pid": pid, "paper": paper, "awaiting": awaiting,
        "sections": paper_sections(paper), "text": paper_text(paper, tex),
        "setup": experiments(paper.get("Experimental_Setup"), tex),
        "results": with_figures(
            experiments(paper.get("Experimental_results"), tex),
            folder / "latex" / "figures", f"/runs/{run}/papers/{pid}/figures",
        ),
        "review": review_view(review) if review else None,
        "detection": detection, "novelty": novelty,
        "has_pdf": (folder / "latex" / "main.pdf").is_file(),
        "pdf_problems": pdf_problems(folder),
        "jobs": [j for j in site.runner.for_run(run) if j.params.get("target") == pid and j.state in ("queued", "running")],
        "defaults": site.defaults.describe(),
        "complete_error": complete_error, "complete_form": complete_form,
        "warned": site.job_warnings(run, pid, ("generate", "complete")),
    }  # fmt: skip
    return site.page(request, "paper.html", ctx, 400 if complete_error else 200)


@router.get("/runs/{run}/papers/{pid}/paper.json")
async def download_json(run: str, pid: str, site: SiteDep) -> Response:
    from ...paper import Paper
    from ...paper.export import export_json

    paper = site.record(run, "paper", pid)
    target = RunFolder(site.run_path(run)).paper_dir(pid) / "paper.json"
    if not target.is_file():
        export_json(Paper.from_dict(paper), target)
    return FileResponse(target, media_type="application/json", filename=f"{pid}.json")


@router.get("/runs/{run}/papers/{pid}/latex.zip")
async def download_zip(run: str, pid: str, site: SiteDep) -> Response:
    from ...paper import Paper
    from ...paper.export import export_latex_project

    paper = site.record(run, "paper", pid)
    folder = RunFolder(site.run_path(run)).paper_dir(pid) / "latex"
    if not (folder / "main.tex").is_file():
        p = Paper.from_dict(paper)
        export_latex_project(p, folder, p.references_bib, compile=False)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.iterdir()):
            if f.is_file() and not f.is_symlink():
                zf.write(f, f"{pid}/{f.name}")
    headers = {"Content-Disposition": f'attachment; filename="{pid}-latex.zip"'}
    return Response(buf.getvalue(), media_type="application/zip", headers=headers)


@router.get("/runs/{run}/papers/{pid}/paper.pdf")
async def download_pdf(run: str, pid: str, site: SiteDep) -> Response:
    site.record(run, "paper", pid)
    pdf = RunFolder(site.run_path(run)).paper_dir(pid) / "latex" / "main.pdf"
    if not pdf.is_file():
        raise StarletteHTTPException(
            409,
            "No PDF was compiled for this paper (TeX Live missing, the compile failed, or PDF was unticked). Download the LaTeX project instead.",
        )
    return FileResponse(pdf, media_type="application/pdf", filename=f"{pid}.pdf")


@router.get("/runs/{run}/papers/{pid}/figures/{name}")
async def result_figure(run: str, pid: str, name: str, site: SiteDep) -> Response:
    site.record(run, "paper", pid)
    if not FIGURE_NAME.fullmatch(name):  # only the plots we drew, nothing else on disk
        raise StarletteHTTPException(404)
    path = RunFolder(site.run_path(run)).paper_dir(pid) / "latex" / "figures" / name
    if not path.is_file():
        raise StarletteHTTPException(404)
    return FileResponse(path, media_type="image/png")
