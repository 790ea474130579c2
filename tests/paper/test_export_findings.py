"""`paper export` as a user met it (the research explorer's findings): a --bib is cleaned as a
run's references are, no folder of the user's machine reaches an export, paper.json and paper.md
carry this export's PDF status, every unresolved key gets its entry, and a folder, a non-paper
text or a cut JSON is told as what it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cycleresearcher.app.export import ExportRequest, export_papers, load_papers
from cycleresearcher.app.report import Collect
from cycleresearcher.errors import InputError
from cycleresearcher.paper import Paper
from cycleresearcher.paper.export import SIMULATED_NOTICE, build_main_tex, to_markdown
from cycleresearcher.paper.export.markdown import ungrounded_markdown
from cycleresearcher.paper.export.project import missing_entries
from support.shells import cli

#: a Zotero entry and a Scopus export: local file path, e-mail, bookkeeping, the export header
DIRTY_BIB = """Scopus
EXPORTED DATE: 13 January 2017

@article{smith2020,
  title = {Trees for Regression},
  author = {Smith, Ann},
  year = {2020},
  journal = {J. Trees},
  langid = {english},
  file = {/Volumes/GoogleDrive-1125/My Drive/zotero/storage/VQ27/Smith_2020.pdf},
  abstract = {We grow trees.},
}

@ARTICLE{D'Ambrosio20171339,
author={D'Ambrosio, A.},
title={Regression trees for rankings},
journal={J. Stat.},
year={2017},
volume={69},
pages={1339-1351},
issn={01679473},
references={Breiman, L., Random forests (2001) Machine Learning, 45, pp. 5-32; },
correspondence_address1={D'Ambrosio, A.; Department of Economics, Naples; email: antdambr@unina.it},
source={Scopus},
}
"""

BODY = r"\title{Ranked Trees}\begin{abstract}We rank.\end{abstract}\section{Intro}Trees \cite{smith2020} and \cite{D'Ambrosio20171339}."


def _record(tmp_path: Path, **fields) -> Path:
    paper = Paper(title="Ranked Trees", abstract="We rank.", latex=BODY, **fields)
    path = tmp_path / "paper.json"
    path.write_text(json.dumps(paper.to_dict()), encoding="utf-8")
    return path


def test_bib_is_cleaned_as_a_runs_references_are(tmp_path: Path):
    bib = tmp_path / "export.bib"
    bib.write_text(DIRTY_BIB, encoding="utf-8")
    export_papers(ExportRequest(str(_record(tmp_path)), "latex", str(tmp_path / "out"), str(bib)), Collect())
    text = (tmp_path / "out" / "latex" / "references.bib").read_text(encoding="utf-8")
    assert "@article{smith2020," in text and "D'Ambrosio20171339" in text  # the entries are kept
    for leak in ("/Volumes", "email", "unina.it", "langid", "issn", "references", "EXPORT", "Scopus"):
        assert leak.lower() not in text.lower(), leak  # was copied verbatim


def test_a_training_layout_bib_writes_no_abstract_lines(tmp_path: Path):
    block = tmp_path / "refs.txt"
    block.write_text(
        "Abstract: We grow trees.\n@article{smith2020,\n  title = {Trees for Regression},\n  year = {2020},\n}\n",
        encoding="utf-8",
    )
    export_papers(ExportRequest(str(_record(tmp_path)), "latex", str(tmp_path / "out"), str(block)), Collect())
    text = (tmp_path / "out" / "latex" / "references.bib").read_text(encoding="utf-8")
    assert "@article{smith2020," in text and "Abstract:" not in text


def test_an_apostrophe_key_gets_its_placeholder_entry():
    assert "@misc{D'Ambrosio20171339," in missing_entries(["D'Ambrosio20171339"])  # was left out: [?] in the PDF


def test_export_records_the_pdf_it_compiled_and_says_so(tmp_path: Path):
    # a stale status from the run that wrote the record; the export compiles a new PDF
    stale = {"state": "failed", "problems": ["old"], "label": "no: old"}
    source = _record(tmp_path)
    record = json.loads(source.read_text(encoding="utf-8"))
    source.write_text(json.dumps({**record, "pdf_status": stale}), encoding="utf-8")
    r = cli("paper", "export", source, "-f", "all", "-o", tmp_path / "out")
    assert r.exit_code == 0, r.output
    data = json.loads((tmp_path / "out" / "paper.json").read_text(encoding="utf-8"))
    if (tmp_path / "out" / "latex" / "main.pdf").exists():
        assert data["pdf_status"]["state"] == "ok"  # both keys have an entry: no [?]
        assert "PDF: yes" in r.stderr
    else:  # no TeX here: the status says why
        assert data["pdf_status"]["state"] == "not_compiled"
    assert data["unresolved_citations"] == ["smith2020", "D'Ambrosio20171339"]
    bib = (tmp_path / "out" / "latex" / "references.bib").read_text(encoding="utf-8")
    assert "@misc{D'Ambrosio20171339," in bib


def test_no_pdf_asked_leaves_no_stale_status(tmp_path: Path):
    source = _record(tmp_path)
    record = json.loads(source.read_text(encoding="utf-8"))
    source.write_text(json.dumps({**record, "pdf_status": {"state": "ok"}}), encoding="utf-8")
    result = export_papers(ExportRequest(str(source), "json", str(tmp_path / "out")), Collect())
    data = json.loads((tmp_path / "out" / "paper.json").read_text(encoding="utf-8"))
    assert data["pdf_status"] is None and result.papers[0].pdf_status is None


def test_exports_name_files_and_models_not_the_folders_they_are_in(tmp_path: Path):
    meta = {
        "source": "/home/ann/private/scopus.bib",
        "engine": {"engine": "llamacpp", "model": "/home/ann/models/SmolLM2.gguf"},
        "reference_warnings": ["/home/ann/private/scopus.bib:419: duplicate key 'x' (also at /home/ann/private/scopus.bib:402)"],
    }
    source = _record(tmp_path, meta=meta, warnings=["no ## Novelty section"])
    export_papers(ExportRequest(str(source), "md", str(tmp_path / "out")), Collect())
    export_papers(ExportRequest(str(source), "json", str(tmp_path / "out")), Collect())
    for name in ("paper.json", "paper.md"):
        text = (tmp_path / "out" / name).read_text(encoding="utf-8")
        assert "/home/ann" not in text, name
    data = json.loads((tmp_path / "out" / "paper.json").read_text(encoding="utf-8"))
    assert data["meta"]["source"] == "scopus.bib" and data["meta"]["engine"]["model"] == "SmolLM2.gguf"
    md = (tmp_path / "out" / "paper.md").read_text(encoding="utf-8")
    refs, parser = md.index("## Reference warnings"), md.index("## Parser warnings")
    assert "scopus.bib:419: duplicate key" in md[refs:parser] and "duplicate key" not in md[parser:]


def test_a_hub_model_id_is_a_name_and_stays():
    from cycleresearcher.paper.local_paths import file_name

    assert file_name("WestlakeNLP/CycleResearcher-12B") == "WestlakeNLP/CycleResearcher-12B"


def test_a_folder_is_called_a_folder_and_a_run_folder_points_at_its_papers(tmp_path: Path):
    with pytest.raises(InputError, match="is a folder, not a file"):
        load_papers(str(tmp_path))
    run = tmp_path / "run"
    (run / "papers" / "refs-1234-s0").mkdir(parents=True)
    (run / "papers" / "refs-1234-s0" / "paper.json").write_text("{}", encoding="utf-8")
    (run / "run.sqlite").write_bytes(b"")
    with pytest.raises(InputError, match=r"run folder.*papers.*paper\.json.*refs-1234-s0"):
        load_papers(str(run))


def test_text_that_is_no_paper_is_warned_about(tmp_path: Path):
    notes = tmp_path / "notes.txt"
    notes.write_text("Some notes.\n\nNothing here looks like a generated paper.\n", encoding="utf-8")
    report = Collect()
    export_papers(ExportRequest(str(notes), "md", str(tmp_path / "out")), report)
    assert any("no title and no LaTeX" in w for w in report.warnings)
    # a paper.md of ours fed back: its "## Motivation" parses, the rest is garbage; it says so
    export_papers(ExportRequest(str(_record(tmp_path)), "md", str(tmp_path / "md")), Collect())
    fed_back = Collect()
    export_papers(ExportRequest(str(tmp_path / "md" / "paper.md"), "md", str(tmp_path / "again")), fed_back)
    assert any("one of our exports" in w and "paper.json" in w for w in fed_back.warnings)
    real = Collect()
    export_papers(ExportRequest(str(_record(tmp_path)), "md", str(tmp_path / "out2")), real)
    assert real.warnings == []


def test_cut_json_names_its_error_once(tmp_path: Path):
    cut = tmp_path / "cut.json"
    cut.write_text('{\n "title": "Ranked', encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_papers(str(cut))
    assert "starting at line 2" in str(err.value) and "at at" not in str(err.value)
    assert "--resume" in str(err.value)  # a simulated run's files are rewritten by generate --resume


def test_a_paper_without_results_says_none_were_written():
    from cycleresearcher.paper.export.disclosure import NO_RESULTS_NOTICE

    paper = Paper(title="T", latex=r"\section{Intro} x", results_simulated=True)
    md = to_markdown(paper)
    assert NO_RESULTS_NOTICE in md and SIMULATED_NOTICE not in md
    tex, _ = build_main_tex(paper, has_bib=False)
    assert "no results written" in tex and "results simulated" not in tex


def test_a_paper_awaiting_results_says_how_to_supply_them():
    from cycleresearcher.paper.export.disclosure import PENDING_NOTICE

    paper = Paper(title="T", latex=r"\section{Intro} x", results_simulated=False, meta={"stage": "awaiting_results"})
    md = to_markdown(paper)
    assert PENDING_NOTICE in md and "research complete RUN --results results.json" in md


def test_no_number_checked_is_not_every_number_matched():
    lines = "\n".join(ungrounded_markdown([], {"checked": 0, "grounded": 0}))
    assert "Every number" not in lines and "no number to check" in lines
    assert "Every number" in "\n".join(ungrounded_markdown([], {"checked": 3, "grounded": 3}))
