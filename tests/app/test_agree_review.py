"""The review use case through both shells on the same paper: ``cycleresearcher review FILE`` and
the page's upload-and-review form, each against the same loopback server replaying the released
reviewers' outputs (``replay``), with the Model field left empty in both.

What must agree: the review JSON each writes (by the same file name: the paper id), its Markdown
but for the source line, the run's review settings, and every request body the server received
(model, max_tokens, sampling, messages). The server lists the researcher model first, so an empty
model going anywhere but to the reviewer model fails here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cycleresearcher.store import RunStore
from support.pdf_bomb import text_pdf
from support.replay import CYCLEREVIEWER, DEEPREVIEWER, RESEARCHER
from support.shells import cli, steady, wait, web

DATA = Path(__file__).resolve().parents[1] / "data"
#: reviewer -> (the replayed output's kind at the server, the model an empty field must reach)
REVIEWERS = {
    "cyclereviewer": ("cyclereviewer", CYCLEREVIEWER),
    "deepreviewer": ("deepreviewer-fast", DEEPREVIEWER),
}
MIME = {".txt": "text/plain", ".tex": "text/x-tex", ".md": "text/markdown", ".pdf": "application/pdf"}


def paper_file(kind: str, fixtures_dir: Path, folder: Path) -> Path:
    """One paper alone in ``folder`` (a file read beside others may pick them up: a .tex's \\input)."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "pdf":
        lines = ["Sparse Routing for Small Transformers", "", "Abstract", "We route tokens to few experts."]
        path = folder / "sparse.pdf"
        path.write_bytes(text_pdf([lines, ["1 Introduction", "Routing saves compute at equal quality."]]))
        return path
    source = {
        "txt": fixtures_dir / "detect" / "human_paper_001.txt",
        "tex": DATA / "review_run" / "papers" / "graphmix.tex",
        "md": DATA / "review_run" / "papers" / "sparseroute.md",
    }[kind]
    return Path(shutil.copy(source, folder / source.name))


def through_cli(replay, paper: Path, reviewer: str, out: Path) -> tuple[Path, list]:
    result = cli("review", paper, "--reviewer", reviewer, "--mode", "fast", "--base-url", replay.url, "-o", out)
    assert result.exit_code == 0, result.output
    bodies = [r.body for r in replay.chats()]
    replay.reset()
    return out, bodies


def through_web(replay, paper: Path, reviewer: str, runs: Path) -> tuple[Path, list]:
    client = web(runs, base_url=replay.url)
    files = {"paper": (paper.name, paper.read_bytes(), MIME[paper.suffix])}
    form = {"reviewer": reviewer, "review_mode": "fast", "model": "", "max_tokens": ""}
    job = wait(client, client.post("/review-upload", files=files, data=form, follow_redirects=False))
    assert job["state"] == "done", job
    bodies = [r.body for r in replay.chats()]
    replay.reset()
    return runs / job["run"], bodies


def reviews(run: Path) -> dict[str, dict]:
    """The review exports by file name, without the source (the path given / the upload's name)."""
    out = {}
    for p in sorted((run / "reviews").glob("*.json")):
        out[p.name] = {k: v for k, v in steady(json.loads(p.read_text(encoding="utf-8"))).items() if k != "source"}
    return out


def markdown(run: Path) -> dict[str, str]:
    return {
        p.name: "\n".join(line for line in p.read_text(encoding="utf-8").splitlines() if not line.startswith("Source: "))
        for p in sorted((run / "reviews").glob("*.md"))
    }


def review_meta(run: Path) -> dict:
    with RunStore(run, create=False) as store:
        return store.get_meta("review")


@pytest.mark.parametrize("kind", ["txt", "tex", "md", "pdf"])
@pytest.mark.parametrize("reviewer", sorted(REVIEWERS))
def test_the_cli_and_the_page_write_the_same_review(replay, fixtures_dir, tmp_path, reviewer, kind):
    replay.default_paper = 1  # DeepReviewer: a paper the fixtures hold no output for gets #1's
    assert next(iter(replay.models)) == RESEARCHER  # an empty model must not go to the first listed
    paper = paper_file(kind, fixtures_dir, tmp_path / "in")
    cli_run, cli_bodies = through_cli(replay, paper, reviewer, tmp_path / "cli")
    web_run, web_bodies = through_web(replay, paper, reviewer, tmp_path / "runs")

    replayed, model = REVIEWERS[reviewer]
    assert len(cli_bodies) == 1 and cli_bodies == web_bodies  # the same request, byte for byte
    [body] = cli_bodies
    assert body["model"] == model and body["max_tokens"] == (7000 if reviewer == "cyclereviewer" else 35000)

    cli_reviews, web_reviews = reviews(cli_run), reviews(web_run)
    assert list(cli_reviews) == list(web_reviews) and len(cli_reviews) == 1
    [(name, record)] = cli_reviews.items()
    assert record["model"] == model and record["review"]["reviewers"] is not None
    for key in ("review", "title", "paper_id", "input_warnings", "hidden_text", "paper_tokens", "mode"):
        assert web_reviews[name][key] == record[key], key
    assert web_reviews == cli_reviews
    assert markdown(web_run) == markdown(cli_run)
    assert review_meta(web_run) == review_meta(cli_run)
    assert review_meta(cli_run)["model"] == ""  # the server's own reviewer model, chosen by family


@pytest.mark.parametrize("reviewer", sorted(REVIEWERS))
def test_an_empty_model_reviews_with_the_servers_reviewer_model_in_both_shells(replay, fixtures_dir, tmp_path, reviewer):
    """The server lists CycleResearcher first: an empty Model field once sent the review to it
    (the page read "CycleReviewer · model ...CycleResearcher-ML-12B")."""
    paper = paper_file("txt", fixtures_dir, tmp_path / "in")
    replayed, model = REVIEWERS[reviewer]
    for run, bodies in (
        through_cli(replay, paper, reviewer, tmp_path / "cli"),
        through_web(replay, paper, reviewer, tmp_path / "runs"),
    ):
        assert [b["model"] for b in bodies] == [model], run
        [record] = reviews(run).values()
        assert record["model"] == model and RESEARCHER not in json.dumps(record)
