"""`research novelty` offline: on a bare idea, on a real run directory (generated with the scripted
engine, exported as the CLI exports), its files, the run store, the web page, and
`research generate --novelty`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from novelty_corpus import CLOSE_IDEA, FAR_IDEA, WORKS, bib_text, corpus_bib, no_user_cache  # noqa: F401  (fixtures)
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.paper.export import export_paper
from cycleresearcher.research import CycleResearcher, ResearchSettings
from cycleresearcher.store import RunStore
from support.fake_engine import FakeEngine

runner = CliRunner()

TURN3 = """## Motivation

{motivation}

## Main Idea

{idea}

## Interestingness

6

## Feasibility

7

## Novelty

8

```latex
\\title{{{title}}}
\\begin{{abstract}}{abstract}\\end{{abstract}}
\\section{{Introduction}}
Text \\citep{{kvcache}}.
```

## Experimental Setup

```json
[{{"name": "Main", "description": "Measure memory."}}]
```
"""


def make_run(tmp_path: Path, idea: str, refs: list[str], name: str = "run-novelty") -> tuple[Path, str]:
    """A run directory as `research generate --two-stage -o` leaves it: the store and papers/<id>/."""
    bib = tmp_path / "refs.bib"
    bib.parent.mkdir(parents=True, exist_ok=True)
    bib.write_text(bib_text(refs), encoding="utf-8")
    text = TURN3.format(
        motivation="Memory is the limit.", idea=idea, title="Small caches", abstract="We shrink caches."
    )
    run = tmp_path / "runs" / name
    researcher = CycleResearcher(engine=FakeEngine(text), run_dir=run)
    [paper] = researcher.generate([bib], ResearchSettings(n=1, max_tokens=64, mode="two-stage"))
    export_paper(paper, run, pdf=False)
    researcher.close()
    return run, str(paper.id)


def invoke(*args: str):
    result = runner.invoke(app, ["research", "novelty", *args])
    return result


def test_bare_ideas_offline_with_a_corpus(corpus_bib, tmp_path):
    result = invoke("--idea", CLOSE_IDEA, "--idea", FAR_IDEA, "--corpus", str(corpus_bib), "--lexical", "--json",
                    "-o", str(tmp_path / "out"))  # fmt: skip
    assert result.exit_code == 0, result.output
    close, far = json.loads(result.stdout)
    assert close["close_prior_work"] is True and far["close_prior_work"] is False
    assert close["matches"][0]["work"]["title"] == WORKS["kvcache"][0]
    assert close["matches"][0]["overlaps"], "the matrix says what overlaps"
    assert far["verdict"].startswith(
        "no close prior work among 6 works searched (sources: corpus:library.bib 6;"
    )
    written = json.loads((tmp_path / "out" / "idea_1" / "novelty.json").read_text())
    assert written["verdict"] == close["verdict"]
    assert "| 1 | Compressing the key-value cache" in (tmp_path / "out" / "idea_1" / "novelty.md").read_text()


def test_nothing_to_check_is_an_input_error():
    result = invoke()
    assert result.exit_code == 2 and "Nothing to check" in result.output


def test_run_directory_gets_the_check_in_store_files_and_web_page(tmp_path):
    run, pid = make_run(tmp_path, CLOSE_IDEA, ["kvcache", "soil", "reef"])
    result = invoke(str(run), "--lexical")
    assert result.exit_code == 0, result.output
    assert "close prior work" in result.stdout
    folder = run / "papers" / pid
    report = json.loads((folder / "novelty.json").read_text())
    assert report["close_prior_work"] is True and report["searched"] == {"references": 3}
    paper = json.loads((folder / "paper.json").read_text())
    assert paper["novelty_check"]["verdict"] == report["verdict"]
    assert paper["novelty"] == 8, "the model's self-score stays what it was"
    assert paper["meta"]["novelty_check"]["matches"] == report["matches"]
    md = (folder / "paper.md").read_text()
    assert md.count("## Novelty check (retrieval)") == 1 and report["verdict"] in md
    with RunStore(run, create=False) as store:
        assert store.get("novelty", pid)["verdict"] == report["verdict"]
        assert store.get("paper", pid)["meta"]["novelty_check"]["verdict"] == report["verdict"]
    # a second check replaces the section instead of adding one
    assert invoke(str(run), "--lexical", "--corpus", str(tmp_path / "refs.bib")).exit_code == 0
    assert (folder / "paper.md").read_text().count("## Novelty check (retrieval)") == 1
    # the paper page shows it
    from cycleresearcher.web.app import create_app

    web = create_app(tmp_path / "runs")
    page = TestClient(web, base_url="http://127.0.0.1").get(f"/runs/{run.name}/papers/{pid}")
    assert page.status_code == 200
    assert 'id="novelty"' in page.text and "close prior work" in page.text
    assert "Compressing the key-value cache of transformer decoders" in page.text


def test_run_with_a_far_idea_names_what_was_searched(tmp_path):
    run, pid = make_run(tmp_path, FAR_IDEA, ["kvcache", "soil", "reef", "graphs"])
    result = invoke(str(run), "--lexical", "--json")
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)
    assert report["close_prior_work"] is False
    assert report["verdict"].startswith("no close prior work among 4 works searched (sources: references 4;")


def test_generate_with_novelty_checks_each_paper(tmp_path, monkeypatch):
    bib = tmp_path / "refs.bib"
    bib.write_text(bib_text(["kvcache", "speech"]), encoding="utf-8")
    text = TURN3.format(
        motivation="Memory is the limit.", idea=CLOSE_IDEA, title="Small caches", abstract="We shrink caches."
    )
    import cycleresearcher.novelty.check as check

    monkeypatch.setattr(check.NoveltyChecker, "embedder", lambda self: None)  # lexical: no model load here
    run = tmp_path / "gen"
    result = runner.invoke(app, ["research", "generate", str(bib), "--model", "scripted", "--engine", "support.fake_engine:FakeEngine",
                                 "--engine-opt", f"script={text}", "--two-stage", "--no-pdf", "--novelty", "-o", str(run)])  # fmt: skip
    assert result.exit_code == 0, result.output
    [folder] = list((run / "papers").iterdir())
    paper = json.loads((folder / "paper.json").read_text())
    assert paper["novelty_check"]["close_prior_work"] is True
    assert "## Novelty check (retrieval)" in (folder / "paper.md").read_text()


@pytest.mark.slow
def test_embeddings_rank_by_meaning_offline(corpus_bib):
    pytest.importorskip("sentence_transformers")
    # the same idea in other words than the work's abstract: the embedding still finds it
    idea = (
        "Decoder-only language models spend most inference memory on stored attention keys and values "
        "for long inputs; storing them in low precision and dropping rarely attended positions shrinks it."
    )
    result = invoke("--idea", idea, "--corpus", str(corpus_bib), "--json")
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)
    assert report["measure"] == "embedding cosine (all-MiniLM-L6-v2)"
    top = report["matches"][0]
    assert top["work"]["title"] == WORKS["kvcache"][0] and top["embedding_rank"] == 1
    others = [m["similarity"] for m in report["matches"][1:]]
    assert top["similarity"] > max(others) + 0.2
