"""``paper export``, ``references render`` and ``references enrich`` are use cases in app/: the
CLI writes and prints what the use case, called directly, writes and returns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cycleresearcher.app.export import ExportRequest, export_papers
from cycleresearcher.app.references import ShowRequest, show_references
from cycleresearcher.app.report import Collect
from cycleresearcher.errors import InputError
from support.shells import cli, files, written


@pytest.mark.parametrize("fmt", ["json", "md", "latex"])
def test_paper_export_cli_writes_what_the_use_case_writes(data_dir: Path, tmp_path: Path, fmt: str):
    raw = data_dir / "paper" / "generation_full.txt"
    result = export_papers(ExportRequest(str(raw), fmt, str(tmp_path / "app")), Collect())
    r = cli("paper", "export", raw, "-f", fmt, "-o", tmp_path / "cli")
    assert r.exit_code == 0, r.output
    assert files(tmp_path / "cli") == files(tmp_path / "app") != set()
    assert written(tmp_path / "cli") == written(tmp_path / "app")
    printed = [Path(line) for line in r.stdout.splitlines()]
    assert [p.relative_to(tmp_path / "cli") for p in printed] == [
        p.relative_to(tmp_path / "app") for p in result.papers[0].files
    ]
    assert not result.failed


def test_printed_paths_are_whole_lines_however_long(data_dir: Path, tmp_path: Path):
    out = tmp_path / ("a-folder-name-long-enough-to-pass-eighty-columns-" * 2) / "x"
    r = cli("paper", "export", data_dir / "paper" / "generation_full.txt", "-f", "md", "-o", out)
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [str(out / "paper.md")]


def test_a_list_of_records_exports_each_into_its_own_folder(data_dir: Path, tmp_path: Path):
    one = export_papers(ExportRequest(str(data_dir / "paper" / "generation_full.txt"), "json", str(tmp_path / "one")), Collect())
    record = json.loads(one.papers[0].files[0].read_text(encoding="utf-8"))
    pair = tmp_path / "pair.json"
    pair.write_text(json.dumps([record, record]), encoding="utf-8")
    result = export_papers(ExportRequest(str(pair), "md"), Collect())
    assert [p.folder.name for p in result.papers] == ["paper-001", "paper-002"]
    assert result.papers[0].folder.parent == tmp_path / "pair-export"


def test_a_bad_format_is_refused_before_anything_is_read_or_made(tmp_path: Path):
    with pytest.raises(InputError, match="'docx' is not one of json, md, latex, pdf, all"):
        export_papers(ExportRequest(str(tmp_path / "missing.txt"), "docx", str(tmp_path / "out")), Collect())
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("shown,flag", [("block", None), ("json", "--json"), ("bibtex", "--bibtex"), ("explain", "--explain")])
def test_references_render_prints_what_the_use_case_returns(data_dir: Path, shown: str, flag: str | None):
    source = str(data_dir / "references" / "plain.bib")
    report = Collect()
    text = show_references(ShowRequest((source,), shown), report)
    r = cli("references", "render", source, *([flag] if flag else []))
    assert r.exit_code == 0, r.output
    assert r.stdout == text
    assert report.warnings and all(" ".join(w.split()) in " ".join(r.stderr.split()) for w in report.warnings)
