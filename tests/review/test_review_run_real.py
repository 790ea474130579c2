"""Review runs end to end on the embedded SmolLM2 model: in process through llama.cpp, and through a
real ``python -m llama_cpp.server`` on 127.0.0.1 with the openai engine.

The tiny model does not follow the reviewer format, so these tests assert the pipeline (one batch,
the run store, the raw text kept, exports, a partial parse with warnings, the context rule with a
real tokenizer), never review quality. Few new tokens keep them short.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import llama_server_process
from cycleresearcher.review.runner import RECORD_KIND
from cycleresearcher.store import RunStore

pytestmark = pytest.mark.slow


def _long_paper(path: Path) -> Path:
    sections = [
        f"\\section{{Part {i}}}\n"
        + " ".join(f"Sentence {j} of part {i} describes an experiment." for j in range(40))
        for i in range(12)
    ]
    path.write_text(
        "\\title{A Very Long Paper}\n\n\\begin{abstract}\nLong.\n\\end{abstract}\n\n" + "\n\n".join(sections),
        encoding="utf-8",
    )
    return path


def _check_run(run: Path, n_papers: int) -> list[dict]:
    """Every paper reviewed, its raw generation stored in the request table AND the review record."""
    with RunStore(run) as store:
        records = [data for _key, data in store.items(RECORD_KIND)]
        done = [r for r in store.request_rows() if r["status"] == "done"]
        stored_texts = {store.get_result(r["key"]).text for r in done}
    assert len(records) == n_papers and len(done) >= n_papers
    for rec in records:
        assert rec["error"] is None
        raw = rec["review"]["raw_text"]
        assert raw.strip() and raw in stored_texts
        assert rec["review"]["warnings"]  # the tiny model does not write the format: a partial parse says so
        assert (run / "reviews" / f"{rec['paper_id']}.json").exists() and (
            run / "reviews" / f"{rec['paper_id']}.md"
        ).exists()
    return records


def test_cyclereviewer_on_llamacpp_end_to_end(data_dir, embedded_gguf, tmp_path):
    pytest.importorskip("llama_cpp")
    from cycleresearcher.review.cyclereviewer import CycleReviewer
    from cycleresearcher.review.runner import review_files

    long_paper = _long_paper(tmp_path / "long.tex")
    paper = data_dir / "review_run" / "papers" / "graphmix.tex"
    run = tmp_path / "run"
    reviewer = CycleReviewer(model="embedded", engine="llamacpp", max_tokens=24, n_ctx=512)
    try:
        result = review_files([str(paper), str(long_paper)], reviewer, run)
        ctx = reviewer.engine.context_length
        assert ctx == 512
        for o in result.outcomes:  # the real tokenizer's count fits the real context
            sent = [
                {"role": "system", "content": reviewer.system_prompt()},
                {"role": "user", "content": o.fitted.text},
            ]
            assert reviewer.engine.count_tokens(sent) + o.fitted.max_tokens <= ctx
    finally:
        reviewer.close()
    records = {r["title"]: r for r in _check_run(run, 2)}
    assert records["A Very Long Paper"]["paper_truncated"] is True
    assert (
        records["GraphMix: Random-Walk Feature Interpolation for Node Classification"]["paper_truncated"]
        is False
    )
    # resume recomputes nothing: the same raw text comes back from the store
    again = review_files(
        [str(paper), str(long_paper)],
        CycleReviewer(model="embedded", engine="llamacpp", max_tokens=24, n_ctx=512),
        run,
        resume=True,
    )
    assert {o.review.raw_text for o in again.outcomes} == {r["review"]["raw_text"] for r in records.values()}


@pytest.fixture(scope="module")
def llama_server(embedded_gguf: str) -> Iterator[str]:
    with llama_server_process(embedded_gguf, n_ctx=512) as url:
        yield url


def test_deepreviewer_cli_through_a_real_openai_compatible_server(data_dir, llama_server, tmp_path):
    from cycleresearcher.cli import app

    run = tmp_path / "run"
    paper = data_dir / "review_run" / "papers" / "sparseroute.md"
    long_paper = _long_paper(tmp_path / "long.tex")
    args = ["review", str(paper), str(long_paper), "--reviewer", "deepreviewer", "--mode", "standard", "--base-url", llama_server,
            "--max-tokens", "16", "--context-length", "512", "-o", str(run)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    # 16 new tokens hold no reviewer: an honest failure (exit 3), each reply still stored and its
    # raw text exported, so --resume reuses it
    assert result.exit_code == 3, result.output
    assert "SparseRoute" in result.output and "holds no reviewer" in result.output
    with RunStore(run) as store:
        records = {data["title"]: data for _key, data in store.items(RECORD_KIND)}
        done = [r for r in store.request_rows() if r["status"] == "done"]
    assert len(records) == 2 and len(done) >= 2
    assert all(r["review"]["raw_text"].strip() for r in records.values())
    assert records["A Very Long Paper"]["paper_truncated"] is True
    data = json.loads((run / "reviews" / f"{records['A Very Long Paper']['paper_id']}.json").read_text())
    assert data["reviewer"] == "deepreviewer" and data["mode"] == "standard"
