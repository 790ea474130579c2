"""references/: bibliographies as researchers have them. Lenient reading like BibTeX (a broken
entry skipped with its line and cause), @string shared across files, duplicate keys, placeholder
abstracts, bookkeeping and local paths kept out of the prompt and references.bib, --explain, the
early budget line, and the linear structure of reading.

All inputs are written here (no third-party files, no real abstracts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.errors import ReferencesError
from cycleresearcher.references import bibtex as bibtex_module
from cycleresearcher.references import load_references, render_references, to_bibtex
from cycleresearcher.references.budget import check_budget
from cycleresearcher.references.clean import is_placeholder_abstract
from cycleresearcher.references.fields import remove_fields

ZOTERO_LIKE = """@article{doe2020sparse,
  title = {Sparse Things},
  author = {Doe, Jane and Roe, Rich},
  journal = {Journal of Things},
  year = {2020},
  volume = {3},
  pages = {1--10},
  abstract = {We study sparse things.},
  file = {/Users/jane/Zotero/storage/AB12CD/Doe - 2020 - Sparse Things.pdf},
  keywords = {sparse, things},
  owner = {jane},
  timestamp = {2021.03.04},
  mendeley-groups = {Thesis/Chapter 2},
  urldate = {2021-03-04}
}

@inproceedings{roe2019dense,
  title = {Dense Things},
  author = {Roe, Rich},
  booktitle = {Proceedings of Things},
  year = {2019},
  note = {cited By 12; Export Date: 1 May 2021},
  file = {:C\\:/Users/rich/Mendeley/roe2019.pdf:pdf}
}
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- bookkeeping and local paths ------------------------------------------------------------------


def test_bookkeeping_and_local_paths_leave_prompt_and_export(tmp_path: Path) -> None:
    refs = load_references(_write(tmp_path, "zotero.bib", ZOTERO_LIKE))
    block, bib = render_references(refs), to_bibtex(refs)
    for text in (block, bib, json.dumps(refs.to_dict())):
        for gone in (
            "/Users/",
            "file =",
            "owner",
            "timestamp",
            "mendeley-groups",
            "keywords",
            "urldate",
            "cited By",
        ):
            assert gone not in text, gone
    # what the training layout uses stays, written as it was
    assert "  title = {Sparse Things},\n  author = {Doe, Jane and Roe, Rich},\n" in block
    assert "  pages = {1--10},\n" in block and "booktitle = {Proceedings of Things}" in block
    assert block.startswith("Abstract: We study sparse things.\n@article{doe2020sparse,")
    assert "abstract = {We study sparse things.}" in bib  # the export keeps the abstract field
    assert refs[0].dropped["file"].startswith("a file on the user's machine")
    assert refs[1].dropped["note"].startswith("database bookkeeping")
    # both outputs are valid BibTeX again, with nothing left to drop
    for text in (block, bib):
        again = load_references(text)
        assert len(again) == 2 and all(not r.dropped for r in again) and again.skipped == 0


def test_field_removal_keeps_the_rest_as_written() -> None:
    raw = "@article{k,\n  title={T},\n  keywords={a},\n  file={/x}\n}"
    assert remove_fields(raw, {"file", "keywords"}) == "@article{k,\n  title={T},\n}"
    assert remove_fields("@article{k, title={T}, file={/x}, year=2020}", {"file"}) == (
        "@article{k, title={T}, year=2020}"
    )
    # comma-first style (JabRef's OPT fields): the comma opening the next line goes too
    comma_first = "@article{k,\n\ttitle = {T},\n\tOPTmonth = {}\n\t,year = {1999}\n}"
    assert load_references(remove_fields(comma_first, {"optmonth"}))[0].fields == {
        "title": "T",
        "year": "1999",
    }


def test_training_layout_block_keeps_its_entries_but_export_is_clean() -> None:
    block = "Abstract: A.\n@article{a,\n  title={A},\n  timestamp={Mon, 01 Jan 2018},\n  year={2018}\n}"
    refs = load_references(block)
    assert render_references(refs) == block  # byte for byte, as trained
    assert "timestamp" not in to_bibtex(refs) and "title={A}" in to_bibtex(refs)
    # ... except a path on the user's machine, which leaves even a training-layout block
    with_file = block.replace("  year={2018}", "  file={/Users/me/a.pdf},\n  year={2018}")
    refs = load_references(with_file)
    assert render_references(refs) == block and "/Users/" not in to_bibtex(refs)


# -- lenient like BibTeX ----------------------------------------------------------------------------

BROKEN = """@article{first,
  title = {First},
  year = {2001}
}

@article{quoted,
  title = "Never closed,
  year = {2002}
}

@article{third,
  title = {Third},
  year = {2003}
}
"""


def test_broken_entry_is_skipped_with_its_line_and_cause(tmp_path: Path) -> None:
    path = _write(tmp_path, "broken.bib", BROKEN)
    refs = load_references(path)
    assert [r.key for r in refs] == ["first", "third"] and refs.skipped == 1
    (warning,) = [w for w in refs.warnings if "cannot read" in w]
    assert "broken.bib:6:" in warning and "@article{quoted," in warning
    assert 'a value opened with " is never closed' in warning and "skipped" in warning
    assert "quoted" not in render_references(refs) and "Never closed" not in render_references(refs)
    with pytest.raises(
        ReferencesError, match=r'broken\.bib:6: .*quoted.*a value opened with " is never closed'
    ):
        load_references(path, strict=True)


def test_repeated_field_names_the_entry_not_a_duplicate_string(tmp_path: Path) -> None:
    """A repeated OPTnote in one entry, and an unrelated @string defined twice (numerics.bib's case):
    the entry loads (BibTeX keeps the first value), the warning names its line and the field, and no
    message speaks of a duplicate key or of the parser's internals."""
    text = (
        '@string{asl = "Adv. Sci. Lett."}\n\n'
        '@string{asl = "Advanced Science Letters"}\n\n'
        "@misc{other,\n  title = {Other},\n  year = {2010}\n}\n\n"
        "@misc{wiki15,\n  title = {Wiki},\n  OPTnote = {},\n  OPTnote = {},\n  journal = asl,\n  year = {2015}\n}\n"
    )
    refs = load_references(_write(tmp_path, "numerics.bib", text), strict=True)
    assert [r.key for r in refs] == ["other", "wiki15"]
    (warning,) = [w for w in refs.warnings if "more than once" in w]
    # the line of the repeat, the entry and the field
    assert "numerics.bib:13:" in warning and "'wiki15'" in warning and "'optnote'" in warning
    assert refs[1].fields["journal"] == "Advanced Science Letters"  # the later @string wins
    messages = " ".join(refs.warnings)
    assert "Duplicate" not in messages and "failed_block" not in messages and "ignore_error" not in messages


def test_cli_strict_refuses_and_lenient_reads_the_rest(tmp_path: Path) -> None:
    path = _write(tmp_path, "broken.bib", BROKEN)
    strict = CliRunner().invoke(app, ["references", "render", "--strict", str(path)])
    assert strict.exit_code == 2 and "broken.bib:6" in strict.stderr and strict.stdout == ""
    lenient = CliRunner().invoke(app, ["references", "render", str(path)])
    assert lenient.exit_code == 0 and "@article{third," in lenient.stdout
    assert "broken.bib:6" in lenient.stderr and "skipped" in lenient.stderr


def test_parenthesised_entries_and_parentheses_in_quoted_values() -> None:
    text = (
        '@article(old:79,\n\ttitle = "Lexical access: (re)consideration of context",\n\tyear = {1979}\n)\n\n'
        "@book(old:68,\n\ttitle = {Semantic Processing},\n\tyear = {1968}\n)\n"
    )
    refs = load_references(text, strict=True)
    assert [r.key for r in refs] == ["old:79", "old:68"]
    assert refs[0].title == "Lexical access: (re)consideration of context"


# -- @string across files -----------------------------------------------------------------------------


def test_string_definitions_are_shared_across_files_in_order(tmp_path: Path) -> None:
    abbrev = _write(
        tmp_path, "abbrev.bib", '@STRING{IEEE_J_X = "{IEEE} Trans. on Things"}\n@string{conf = "Conf."}\n'
    )
    bib = _write(
        tmp_path,
        "refs.bib",
        "@article{a,\n  title = {A},\n  journal = IEEE_J_X,\n  year = {2020}\n}\n\n"
        '@inproceedings{b,\n  title = {B},\n  booktitle = conf # " on Stuff",\n  year = {2021}\n}\n',
    )
    refs = load_references([abbrev, bib])
    assert refs.sources == [str(bib)]
    assert refs[0].fields["journal"] == "{IEEE} Trans. on Things"
    assert refs[1].fields["booktitle"] == "Conf. on Stuff"
    # the values are written in, so the export does not need the abbreviations file
    block, exported = render_references(refs), to_bibtex(refs)
    assert "journal = {{IEEE} Trans. on Things}," in block and "IEEE_J_X" not in exported
    # alone, the bibliography names the missing definitions and the way out
    alone = load_references(bib)
    (warning,) = [w for w in alone.warnings if "@string" in w]
    assert "IEEE_J_X" in warning and "conf" in warning and "first" in warning
    with pytest.raises(ReferencesError, match="only @string definitions"):
        load_references(abbrev)


# -- duplicates and placeholders --------------------------------------------------------------------


def test_duplicate_key_keeps_the_fuller_entry_with_one_warning() -> None:
    """Three copies of one work (titles equal but for case, braces and punctuation): one entry,
    the fullest, in the place of the first, and ONE warning that points at the first copy."""
    text = (
        "@article{same,\n  title = {Sparse Things},\n  year = {2020}\n}\n\n"
        "@misc{between,\n  title = {Between}\n}\n\n"
        "@article{same,\n  title = {{Sparse} things.},\n  author = {Doe, J.},\n  journal = {J},\n"
        "  year = {2020},\n  abstract = {Full abstract.}\n}\n\n"
        "@article{same,\n  title = {Sparse things},\n  year = {2020}\n}\n"
    )
    refs = load_references(text)
    assert [r.key for r in refs] == ["same", "between"] and refs.merged == 2 and refs.renamed == 0
    assert refs[0].abstract == "Full abstract."
    (warning,) = [w for w in refs.warnings if "duplicate key" in w]
    assert warning.startswith("<text>:1: duplicate key 'same'") and "line 10" in warning
    assert "line 18" in warning and "from line 10" in warning
    assert render_references(refs).count("@article{same,") == 1


@pytest.mark.parametrize(
    "placeholder",
    [
        "Not Available",
        "No abstract available",
        "[No abstract available]",
        "[...]",
        "PMID: 25398208",
        " ",
        "N/A",
    ],
)
def test_placeholder_abstracts_count_as_missing(placeholder: str) -> None:
    assert is_placeholder_abstract(placeholder)
    refs = load_references(
        f"@article{{p,\n  title = {{P}},\n  abstract = {{{placeholder}}},\n  year = {{2020}}\n}}\n"
    )
    assert refs[0].abstract is None and "Abstract:" not in render_references(refs)
    assert any("no abstract" in w for w in refs.warnings)
    assert placeholder.strip() == "" or placeholder not in to_bibtex(refs)


def test_real_looking_abstracts_are_not_placeholders() -> None:
    for text in (
        "Not available data are imputed with a new method.",
        "PMID-indexed trials show x.",
        "We study [...] x.",
    ):
        assert not is_placeholder_abstract(text)
    record = {
        "references": [{"title": "T", "abstract": "Not Available"}, {"title": "U", "abstract": "Real."}]
    }
    refs = load_references(json.dumps(record))
    assert [r.abstract for r in refs] == [None, "Real."]


# -- --explain and the budget -----------------------------------------------------------------------


def test_explain_says_what_was_dropped_and_why(tmp_path: Path) -> None:
    path = _write(tmp_path, "zotero.bib", ZOTERO_LIKE)
    result = CliRunner().invoke(app, ["references", "render", "--explain", str(path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "2 references in the prompt" in out and "abstracts: 1 of 2" in out
    file_line = next(ln for ln in out.splitlines() if ln.strip().startswith("file "))
    assert "2 entries" in file_line and "a file on the user's machine" in file_line
    assert any(ln.strip().startswith("timestamp") and "bookkeeping" in ln for ln in out.splitlines())
    assert "prompt tokens; the budget is 41,000" in out and "/Users/" not in out


def _big_bib(n: int) -> str:
    return "\n".join(
        f"@article{{k{i},\n  title = {{Title number {i} about a topic}},\n  author = {{Doe, Jane}},\n"
        f"  abstract = {{{'An abstract sentence about the topic. ' * 8}}},\n  year = {{2020}}\n}}\n"
        for i in range(n)
    )


def test_too_big_is_said_with_the_count_and_the_way_out(tmp_path: Path) -> None:
    check = check_budget("x" * 300_000, context=60000, max_new=19000)
    assert not check.fits and check.budget == 41000
    line = check.line("refs.bib")
    assert line.startswith("refs.bib: about 100,400 prompt tokens; the budget is 41,000")
    assert "59,400 too many" in line and "--drop-to-fit" in line
    assert (
        check_budget("x" * 3000, 60000, 19000)
        .line("small.bib")
        .endswith("(60,000 context - 19,000 new tokens).")
    )
    path = _write(tmp_path, "big.bib", _big_bib(400))
    result = CliRunner().invoke(app, ["references", "render", "--explain", str(path)])
    assert "too many" in result.stdout and "--drop-to-fit" in result.stdout


def test_research_generate_says_too_big_before_any_model(tmp_path: Path) -> None:
    """A released model named, a server that is not there: the budget line comes before the run
    ever talks to it."""
    path = _write(tmp_path, "big.bib", _big_bib(400))
    result = CliRunner().invoke(
        app,
        [
            "research",
            "generate",
            str(path),
            "--model",
            "12B",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "-o",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code != 0
    text = " ".join(result.output.split())
    assert "big.bib: about" in text and "too many" in text and "--drop-to-fit" in text


# -- linear structure -------------------------------------------------------------------------------


def test_reading_scans_each_character_a_bounded_number_of_times(monkeypatch: pytest.MonkeyPatch) -> None:
    """Operation counts, not timings: the brace matching scans the text about once and the line
    table is built once per input, so reading stays linear in the number of entries (counting lines
    from the start of the text for each entry made 100k entries quadratic)."""
    scanned: list[int] = []
    real_group_end = bibtex_module.group_end

    def counting(s: str, i: int, stop: int | None = None) -> int | None:
        end = real_group_end(s, i, stop)
        scanned.append((len(s) if end is None else end) - i)
        return end

    built: list[int] = []
    real_lines = bibtex_module._Lines

    class CountingLines(real_lines):  # type: ignore[misc,valid-type]
        def __init__(self, text: str) -> None:
            built.append(len(text))
            super().__init__(text)

    monkeypatch.setattr(bibtex_module, "group_end", counting)
    monkeypatch.setattr(bibtex_module, "_Lines", CountingLines)
    for n in (100, 1000):
        scanned.clear()
        built.clear()
        text = _big_bib(n)
        refs = load_references(text)
        assert len(refs) == n
        assert sum(scanned) <= len(text)  # each entry's braces scanned once, from its own start
        assert built == [len(text)]


def test_generated_project_references_bib_has_no_local_path(tmp_path: Path) -> None:
    """The whole way: a Zotero-like .bib through a (scripted) generation into the paper's
    references.bib and the prompt the model got."""
    from cycleresearcher.research import CycleResearcher, ResearchSettings
    from researcher_outputs import simulated_output
    from support.fake_engine import FakeEngine

    engine = FakeEngine(lambda req, k: simulated_output(k))
    researcher = CycleResearcher(engine=engine, run_dir=tmp_path / "run")
    (paper,) = researcher.generate(
        [_write(tmp_path, "zotero.bib", ZOTERO_LIKE)], ResearchSettings(max_tokens=100)
    )
    prompt = json.dumps(engine.calls[0].messages)
    for text in (paper.references_bib, prompt):
        assert "doe2020sparse" in text and "roe2019dense" in text
        for gone in ("/Users/", "file =", "owner =", "timestamp =", "mendeley-groups"):
            assert gone not in text, gone


def test_research_generate_strict_refuses_a_broken_bib_before_any_model(tmp_path: Path) -> None:
    path = _write(tmp_path, "broken.bib", BROKEN)
    result = CliRunner().invoke(
        app,
        [
            "research",
            "generate",
            str(path),
            "--strict",
            "--model",
            "12B",
            "--base-url",
            "http://127.0.0.1:9/v1",
        ],
    )
    assert result.exit_code == 2
    assert "broken.bib:6" in " ".join(result.output.split())
