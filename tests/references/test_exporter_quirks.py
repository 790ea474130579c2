"""What real exporters write and a new user met: an abbreviations file given to `research generate`
(IEEE's IEEEabrv.bib), Web of Science's doubly braced abstracts, Scopus's `NoAuthorYYYY` key given
to unrelated works, and the size the default (embedded) model allows said by --explain.

All inputs are written here, in the exporters' shapes (no third-party file, no real abstract)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.errors import ReferencesError
from cycleresearcher.references import load_reference_sets, load_references, render_references, to_bibtex
from researcher_outputs import simulated_output
from support import FAKE_ENGINE

runner = CliRunner()

ABBREV = '@STRING{IEEE_J_TH = "{IEEE} Trans. on Things"}\n@string{PROC_X = "Proc. of X"}\n'
USES_ABBREV = (
    "@article{doe2020,\n  title = {Sparse Things},\n  author = {Doe, Jane},\n  journal = IEEE_J_TH,\n"
    "  year = {2020},\n  abstract = {We study sparse things.}\n}\n"
)
OTHER = (
    "@inproceedings{roe2021,\n  title = {Dense Things},\n  author = {Roe, Rich},\n  booktitle = PROC_X,\n"
    "  year = {2021},\n  abstract = {We study dense things.}\n}\n"
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- D2: an abbreviations file serves the reference sets after it --------------------------------------


def test_abbreviations_file_serves_every_set_after_it(tmp_path: Path) -> None:
    abbrev = _write(tmp_path, "IEEEabrv.bib", ABBREV)
    a, b = _write(tmp_path, "a.bib", USES_ABBREV), _write(tmp_path, "b.bib", OTHER)
    sets = load_reference_sets([abbrev, a, b])
    assert [s.sources for s in sets] == [[str(a)], [str(b)]]  # no set of its own
    assert sets[0][0].fields["journal"] == "{IEEE} Trans. on Things"
    assert sets[1][0].fields["booktitle"] == "Proc. of X"
    assert not any("@string" in w for s in sets for w in s.warnings)
    # a set's own @string blocks stay its own; bytes (an upload) are named by `names`
    own = '@string{PROC_X = "Own"}\n' + OTHER
    sets = load_reference_sets([own.encode(), b], names=["up.bib", None])
    assert sets[0][0].fields["booktitle"] == "Own" and sets[1][0].fields["booktitle"] == "PROC_X"


def test_abbreviations_file_with_nothing_to_serve_is_refused(tmp_path: Path) -> None:
    abbrev = _write(tmp_path, "IEEEabrv.bib", ABBREV)
    a = _write(tmp_path, "a.bib", USES_ABBREV)
    with pytest.raises(ReferencesError, match=r"give it first, followed by the \.bib files that use them"):
        load_reference_sets([abbrev])
    with pytest.raises(ReferencesError, match="no reference file after it"):
        load_reference_sets([a, abbrev])


def test_research_generate_takes_the_abbreviations_file_first(tmp_path: Path) -> None:
    """As the README says: `research generate IEEEabrv.bib refs.bib` (was: exit 2, the
    abbreviations file refused as a reference set of its own)."""
    abbrev = _write(tmp_path, "IEEEabrv.bib", ABBREV)
    bib = _write(tmp_path, "refs.bib", USES_ABBREV)
    run = tmp_path / "run"
    args = ["research", "generate", str(abbrev), str(bib), "-o", str(run), "--no-pdf", "--engine", FAKE_ENGINE]
    result = runner.invoke(app, [*args, "--engine-opt", f"script={simulated_output(0)}"])
    assert result.exit_code == 0, result.output
    [folder] = (run / "papers").iterdir()  # one paper set: refs.bib's
    paper = json.loads((folder / "paper.json").read_text(encoding="utf-8"))
    assert Path(paper["meta"]["source"]).name == "refs.bib"
    assert "{IEEE} Trans. on Things" in paper["references_bib"] and "IEEE_J_TH" not in paper["references_bib"]


# -- D5: Web of Science's Abstract = {{...}} --------------------------------------------------------------

WOS = (
    "@article{ ISI:000123,\nAuthor = {Doe, Jane},\nTitle = {{A Framework for Approximate Queries}},\n"
    "Journal = {{Journal of Things}},\nYear = {{2019}},\n"
    "Abstract = {{We answer queries on {GPU} clusters with $O(\\sqrt{n})$ error\n   and\n"
    "   \\textbf{bold} claims about {100} planes. (C) 2019 Someone.}},\nUnique-ID = {{ISI:000123}},\n}\n"
)


def test_web_of_science_abstract_loses_its_wrapping_braces_only() -> None:
    refs = load_references(WOS)
    abstract = refs[0].abstract
    assert refs[0].title == "A Framework for Approximate Queries"
    # the wrapping braces and the case protection go; LaTeX (math, commands) and other braces stay
    assert abstract == (
        "We answer queries on GPU clusters with $O(\\sqrt{n})$ error and \\textbf{bold} claims about "
        "{100} planes. (C) 2019 Someone."
    )
    assert render_references(refs).startswith("Abstract: We answer queries on GPU clusters")
    assert json.loads(json.dumps(refs.to_dict()))["references"][0]["abstract"] == abstract
    assert "Abstract = {{We answer" in to_bibtex(refs)  # the export keeps the entry as written


def test_a_training_layout_abstract_line_is_kept_as_written() -> None:
    block = "Abstract: {Braced} as given, $x^{2}$.\n@article{a,\n  title={A}\n}"
    refs = load_references(block)
    assert refs[0].abstract == "{Braced} as given, $x^{2}$." and render_references(refs) == block


# -- D7: one key, different works ----------------------------------------------------------------------


def _scopus_like(title: str, extra: str = "") -> str:
    return f"@CONFERENCE{{NoAuthor2013,\ntitle={{{title}}},\njournal={{Proceedings}},\nyear={{2013}},{extra}\n}}\n"


def test_different_works_with_one_auto_key_are_all_kept() -> None:
    text = "\n".join(
        [
            _scopus_like("ICIS 2013, Volume 3"),
            _scopus_like("ICIS 2013, Volume 5"),
            "@misc{NoAuthor2013a,\n  title = {Taken already}\n}\n",
            _scopus_like("ICIS 2013, {Volume} 3.", "\nnote={a fuller copy}"),
            _scopus_like("ESOCC 2013 Proceedings"),
        ]
    )
    refs = load_references(text)
    assert [(r.key, r.title) for r in refs] == [
        ("NoAuthor2013", "ICIS 2013, Volume 3."),  # the fuller copy, in the place of the first
        ("NoAuthor2013b", "ICIS 2013, Volume 5"),
        ("NoAuthor2013a", "Taken already"),
        ("NoAuthor2013c", "ESOCC 2013 Proceedings"),
    ]
    assert refs[0].fields.get("note") == "a fuller copy" and refs.merged == 1 and refs.renamed == 2
    renamed = [w for w in refs.warnings if "different works" in w]
    assert len(renamed) == 1 and "NoAuthor2013b (line 7)" in renamed[0] and "NoAuthor2013c (line 24)" in renamed[0]
    dup = [w for w in refs.warnings if "duplicate key" in w]
    assert len(dup) == 1 and dup[0].startswith("<text>:1: duplicate key 'NoAuthor2013' (same title)")
    # the new keys are in the entries, so the prompt and references.bib cite what the model sees
    block, exported = render_references(refs), to_bibtex(refs)
    for key in ("NoAuthor2013b", "NoAuthor2013c"):
        assert f"@CONFERENCE{{{key}," in block and f"@CONFERENCE{{{key}," in exported
    assert block.count("@CONFERENCE{NoAuthor2013,") == 1


def test_explain_counts_renamed_entries_and_says_one_entry(tmp_path: Path) -> None:
    path = _write(tmp_path, "scopus.bib", _scopus_like("First") + "\n" + _scopus_like("Second", "\nissn={1}"))
    result = runner.invoke(app, ["references", "render", "--explain", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 references in the prompt; 1 entry renamed (its key was another work's)" in result.stdout
    issn = next(ln for ln in result.stdout.splitlines() if ln.strip().startswith("issn"))
    assert " 1 entry " in issn and "entries" not in issn


# -- D11: the default model's budget ------------------------------------------------------------------


def test_explain_gives_the_default_embedded_models_budget(tmp_path: Path) -> None:
    entry = "@article{{k{i},\n  title = {{Title {i}}},\n  abstract = {{{text}}},\n  year = {{2020}}\n}}\n"
    text = "\n".join(entry.format(i=i, text="An abstract sentence about the topic. " * 8) for i in range(60))
    path = _write(tmp_path, "mid.bib", text)
    result = runner.invoke(app, ["references", "render", "--explain", str(path)])
    lines = result.stdout.splitlines()
    released = next(ln for ln in lines if ln.startswith("prompt (CycleResearcher"))
    embedded = next(ln for ln in lines if ln.startswith("prompt (the default embedded SmolLM2-135M)"))
    assert released.endswith("new tokens).")  # fits the released models...
    assert "the budget is 5,376 (8,192 context - 2,816 new tokens)" in embedded  # ...not the default one
    assert "too many" in embedded and "--drop-to-fit" in embedded
