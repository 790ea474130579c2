"""references/: reading .bib / training-layout / .bbl / JSON, rendering, BibTeX export, fitting.

Own fixtures in tests/data/references; the conformance part reads the released training records
through ``fixtures_dir`` (never copied into the repository)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.errors import ContextLengthError, ReferencesError
from cycleresearcher.prompts.research import INSTRUCTION, user_prompt
from cycleresearcher.references import (
    Reference,
    ReferenceSet,
    fit_references,
    load_references,
    relevance_scores,
    render_references,
    to_bibtex,
)


@pytest.fixture()
def refs_dir(data_dir: Path) -> Path:
    return data_dir / "references"


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


# -- formats ---------------------------------------------------------------------------------


def test_plain_bib_abstract_fields_move_to_abstract_lines(refs_dir: Path) -> None:
    refs = load_references(refs_dir / "plain.bib")
    assert [r.key for r in refs] == [
        "okafor2019sparse",
        "tanaka2021drift",
        "ibrahim2020calibration",
        "silva2018methods",
    ]
    # the abstract field left each entry (line-start field, quoted field, one-line entry) and the
    # rest of the entry is byte-identical; comments and @string blocks are not in the prompt
    assert render_references(refs) == _read(refs_dir / "expected_plain_block.txt")
    assert (
        refs[0].abstract == "We study streaming classifiers whose parameters are a sparse mixture of experts."
    )
    assert refs[0].fields["journal"] == "Journal of Imaginary Learning"  # @string macro resolved
    assert refs[1].title == "Detecting concept drift with Two-Sample tests"
    assert refs[0].source.endswith("plain.bib:4")
    assert refs[3].abstract is None
    assert any("silva2018methods" in w and "no abstract" in w for w in refs.warnings)


def test_training_layout_block_round_trips_byte_for_byte(refs_dir: Path) -> None:
    text = _read(refs_dir / "layout_block.txt")
    refs = load_references(text)
    assert render_references(refs) == text
    by_key = {r.key: r for r in refs}
    assert by_key["tanaka2021drift"].abstract.startswith("Two-sample tests on sliding windows")
    # an '@' inside an abstract line does not start an entry
    assert len(refs) == 4
    # a training-layout block keeps an in-entry abstract where it is (no extra Abstract: line)
    assert by_key["ibrahim2020calibration"].abstract.startswith("This abstract stays inside")
    assert render_references(refs).count("Abstract:") == 2
    assert by_key["silva2018methods"].abstract.splitlines()[1].startswith("The abstract spans two lines")


def test_crlf_input_reads_like_lf(refs_dir: Path, tmp_path: Path) -> None:
    lf = _read(refs_dir / "plain.bib")
    crlf = tmp_path / "crlf.bib"
    crlf.write_bytes(lf.replace("\n", "\r\n").encode("utf-8"))
    a, b = load_references(crlf), load_references(refs_dir / "plain.bib")
    assert render_references(a) == render_references(b)
    assert "\r" not in render_references(a)


def test_bbl_thebibliography(refs_dir: Path) -> None:
    text = _read(refs_dir / "thebibliography.bbl")
    refs = load_references(refs_dir / "thebibliography.bbl")
    assert render_references(refs) == text
    assert [r.key for r in refs] == ["okafor2019sparse", "tanaka2021drift", "silva2018methods"]
    assert [r.title for r in refs] == [
        "Sparse mixtures for streaming text",
        "Detecting concept drift with two-sample tests",
        "Methods for Small Data",
    ]
    bib = to_bibtex(refs)
    assert bib.count("@misc{") == 3 and "\\bibitem" not in bib


def test_paper_record_json(refs_dir: Path) -> None:
    refs = load_references(refs_dir / "record.json")
    assert [r.title for r in refs] == [
        "Sparse mixtures for streaming text",
        "Detecting concept drift with two-sample tests",
        "Methods for Small Data",
    ]
    assert refs[0].key == "okafor2019sparse"
    assert refs[2].abstract is None and any("no abstract" in w for w in refs.warnings)
    block = render_references(refs)
    assert block.startswith(
        "Abstract: We study streaming classifiers whose parameters are a sparse mixture of experts.\n@misc{okafor2019sparse,\n"
    )
    assert "\n}\n\nAbstract: Two-sample tests" in block
    # the rendered entries are valid BibTeX: reading the block back gives the same references
    again = load_references(block)
    assert [(r.key, r.title, r.abstract) for r in again] == [(r.key, r.title, r.abstract) for r in refs]


def test_json_shapes_list_of_records_and_list_of_references(refs_dir: Path) -> None:
    record = json.loads(_read(refs_dir / "record.json"))
    as_records = load_references(json.dumps([record, record]))
    assert len(as_records) == 6
    # generated keys never collide: the second copy gets suffixed keys
    assert len({r.key for r in as_records}) == 6 and not any(
        "duplicate key" in w for w in as_records.warnings
    )
    assert as_records[3].key == "okafor2019sparse2"
    as_list = load_references(json.dumps(record["references"]))
    assert [r.title for r in as_list] == [r.title for r in load_references(refs_dir / "record.json")]


def test_json_output_reads_back(refs_dir: Path) -> None:
    """ReferenceSet.to_dict() is itself a record with 'references': it loads back unchanged."""
    refs = load_references(refs_dir / "plain.bib")
    again = load_references(json.dumps(refs.to_dict()))
    assert render_references(again) == render_references(refs)


def test_several_files_merge_in_order(refs_dir: Path) -> None:
    refs = load_references([refs_dir / "plain.bib", refs_dir / "record.json"])
    # okafor2019sparse is in both: one copy is kept, with one warning
    assert len(refs) == 6 and len(refs.sources) == 2 and refs.merged == 1
    assert sum("duplicate key" in w for w in refs.warnings) == 1
    assert [r.key for r in refs].count("okafor2019sparse") == 1


def test_list_of_references_is_accepted() -> None:
    refs = load_references(
        [Reference(key="k1", title="One", abstract="A."), Reference(key="k2", title="Two")]
    )
    assert (
        render_references(refs) == "Abstract: A.\n@misc{k1,\n  title={One}\n}\n\n@misc{k2,\n  title={Two}\n}"
    )


# -- errors and warnings -----------------------------------------------------------------------


def test_duplicate_keys_and_missing_abstracts_warn(refs_dir: Path) -> None:
    refs = load_references(refs_dir / "duplicates.bib")
    assert len(refs) == 2  # one same2020 kept (equally full: the first), in the first's place
    assert [r.key for r in refs] == ["same2020", "noabs2021"] and refs[0].title == "First of two"
    dup = [w for w in refs.warnings if "duplicate key" in w]
    assert len(dup) == 1 and "duplicates.bib:1: duplicate key" in dup[0] and "again at line 7" in dup[0]
    assert any("noabs2021" in w for w in refs.warnings)
    assert render_references(refs).count("same2020") == 1 and to_bibtex(refs).count("same2020") == 1


def test_many_missing_abstracts_give_one_warning() -> None:
    text = "\n\n".join(f"@misc{{k{i},\n  title={{Paper {i}}}\n}}" for i in range(12))
    refs = load_references(text)
    assert len(refs.warnings) == 1 and refs.warnings[0].startswith("12 of 12 references have no abstract")


def test_unbalanced_braces_name_file_and_line(refs_dir: Path) -> None:
    with pytest.raises(ReferencesError, match=r"unbalanced\.bib:6: .*broken2021.*unbalanced braces"):
        load_references(refs_dir / "unbalanced.bib", strict=True)
    # lenient (the default), like BibTeX: the broken entry is skipped, the rest is read
    lenient = load_references(refs_dir / "unbalanced.bib")
    assert [r.key for r in lenient] == ["fine2020", "after2022"] and lenient.skipped == 1
    (warning,) = [w for w in lenient.warnings if "not closed" in w]
    assert "unbalanced.bib:6" in warning and "broken2021" in warning and "skipped" in warning
    assert "broken2021" not in to_bibtex(lenient) and "broken2021" not in render_references(lenient)
    # a cut-off last entry is skipped in a .bib, kept (marked truncated) in a training-layout block
    cut = "@article{a,\n  title={A}\n}\n\n@article{b,\n  title={B}\n"
    assert [r.key for r in load_references(cut)] == ["a"]
    in_layout = load_references("Abstract: A.\n" + cut)
    assert [r.key for r in in_layout] == ["a", "b"] and in_layout[1].truncated
    assert "@article{b" not in to_bibtex(in_layout)


def test_not_bibtex_and_no_entries(refs_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ReferencesError, match=r"not_bibtex\.txt: no BibTeX entries found .*Dear reviewers"):
        load_references(refs_dir / "not_bibtex.txt")
    empty = tmp_path / "empty.bib"
    empty.write_text("% nothing here\n")
    with pytest.raises(ReferencesError, match="empty.bib: no BibTeX entries"):
        load_references(empty)
    binary = tmp_path / "paper.pdf"
    binary.write_bytes(b"%PDF-1.5\x00\x01\x02")
    with pytest.raises(ReferencesError, match="binary file"):
        load_references(binary)


def test_bad_entry_syntax_names_line() -> None:
    text = "@article{ok,\n  title={Fine}\n}\n\n@article{bad,\n  title {no equals sign}\n}\n"
    with pytest.raises(ReferencesError, match=r"<text>:5: cannot read the entry '@article\{bad,'"):
        load_references(text, strict=True)
    refs = load_references(text)
    assert [r.key for r in refs] == ["ok"]
    (warning,) = [w for w in refs.warnings if "cannot read" in w]
    assert "<text>:5:" in warning and "`=` after the field name" in warning and "skipped" in warning


def test_bad_json_names_line(refs_dir: Path) -> None:
    with pytest.raises(ReferencesError, match=r"bad\.json:4: not valid JSON"):
        load_references(refs_dir / "bad.json")
    with pytest.raises(ReferencesError, match=r"references\[0\]: .*neither a 'title'"):
        load_references('{"references": [{"abstract": "no title"}]}')
    with pytest.raises(ReferencesError, match="unexpected JSON shape"):
        load_references('{"papers": []}')


def test_missing_file() -> None:
    with pytest.raises(ReferencesError, match="nope.bib: does not exist"):
        load_references("nope.bib")


# -- rendering and BibTeX export ---------------------------------------------------------------


def test_render_after_dropping_keeps_a_clean_layout(refs_dir: Path) -> None:
    refs = load_references(_read(refs_dir / "layout_block.txt"))
    # drop the first entry: the new first entry must not start with blank lines
    rest = render_references(refs.references[1:])
    assert rest.startswith("Abstract: Two-sample tests")
    # reverse the order: the old first entry (no lead of its own) is separated by a blank line
    rev = render_references(list(reversed(refs.references)))
    assert "}\n\n@article{okafor2019sparse," in rev
    assert len(load_references(rev, strict=True)) == 4


def test_changed_abstract_is_rendered_from_the_field(refs_dir: Path) -> None:
    refs = load_references(_read(refs_dir / "layout_block.txt"))
    refs.references[1].abstract = "A new abstract."
    assert "Abstract: A new abstract.\n@inproceedings{tanaka2021drift," in render_references(refs)


def test_to_bibtex_has_no_abstract_lines_and_parses(refs_dir: Path) -> None:
    import bibtexparser

    refs = load_references(_read(refs_dir / "layout_block.txt"))
    bib = to_bibtex(refs)
    assert not re.search(r"^Abstract:", bib, re.M)
    lib = bibtexparser.parse_string(bib)
    assert [e.key for e in lib.entries] == [r.key for r in refs] and not lib.failed_blocks


# -- fitting a budget --------------------------------------------------------------------------


def _refs_about(topics: list[str]) -> list[Reference]:
    return [
        Reference(key=f"k{i}", title=t, abstract=f"We study {t} in depth with {t} experiments.")
        for i, t in enumerate(topics)
    ]


def _chars(refs: list[Reference]) -> int:
    return len(render_references(refs))


def test_fit_drops_least_relevant_to_topic_and_keeps_order() -> None:
    refs = _refs_about(
        ["graph neural networks", "protein folding", "graph transformers", "tax law", "graph sampling"]
    )
    budget = _chars([refs[0], refs[2], refs[4]])
    fit = fit_references(refs, _chars, budget, topic="scalable graph learning")
    assert [r.key for r in fit.kept] == ["k0", "k2", "k4"]
    assert {r.key for r in fit.dropped} == {"k1", "k3"}
    assert fit.tokens <= budget and fit.scores["k0"] > fit.scores["k3"]


def test_fit_without_topic_uses_centroid() -> None:
    refs = _refs_about(["graph neural networks", "graph transformers", "graph sampling", "medieval poetry"])
    fit = fit_references(refs, _chars, _chars(refs) - 1)
    assert [r.key for r in fit.dropped] == ["k3"]


def test_fit_noop_and_impossible() -> None:
    refs = _refs_about(["a topic", "another topic"])
    same = fit_references(refs, _chars, 10_000)
    assert same.kept == refs and same.dropped == []
    with pytest.raises(ContextLengthError, match="even with only the most relevant reference"):
        fit_references(refs, _chars, 10)


def test_relevance_scores_empty_vocabulary() -> None:
    assert relevance_scores([Reference(key="a", title="the"), Reference(key="b", title="of")]) == [0.0, 0.0]


# -- CLI ---------------------------------------------------------------------------------------


def test_cli_render_is_byte_exact_and_warns_on_stderr(refs_dir: Path) -> None:
    result = CliRunner().invoke(app, ["references", "render", str(refs_dir / "layout_block.txt")])
    assert result.exit_code == 0, result.output
    assert result.stdout == _read(refs_dir / "layout_block.txt")
    assert "okafor2019sparse" in result.stderr and "no abstract" in result.stderr


def test_cli_default_command_and_json(refs_dir: Path) -> None:
    result = CliRunner().invoke(app, ["references", str(refs_dir / "record.json"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["key"] for r in data["references"]][0] == "okafor2019sparse"
    assert data["warnings"]


def test_cli_bad_input_exits_2_with_one_line(refs_dir: Path) -> None:
    result = CliRunner().invoke(app, ["references", "render", "--strict", str(refs_dir / "unbalanced.bib")])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "unbalanced.bib:6" in lines[0]


def test_example_bib_has_abstracts() -> None:
    """examples/references.bib is the README's first input: every entry carries an abstract."""
    path = Path(__file__).resolve().parents[2] / "examples" / "references.bib"
    refs = load_references(path)
    assert len(refs) == 8 and refs.warnings == []
    assert render_references(refs).count("\nAbstract: ") == 7


# -- conformance: the released training records ------------------------------------------------


def _conversations(fixtures_dir: Path) -> list[Path]:
    paths = sorted((fixtures_dir / "research").glob("conversation_*.json"))
    assert len(paths) == 6
    return paths


def _split_user_turn(text: str) -> str:
    assert text.endswith(INSTRUCTION)
    return text[: -len(INSTRUCTION)]


def test_training_blocks_round_trip_byte_for_byte(fixtures_dir: Path) -> None:
    for path in _conversations(fixtures_dir):
        record = json.loads(path.read_text(encoding="utf-8"))
        user = record["messages"][1]["content"]
        block = _split_user_turn(user)
        refs = load_references(block, strict=False, name=path.name)
        assert isinstance(refs, ReferenceSet) and len(refs) > 0
        rendered = render_references(refs)
        assert rendered == block, path.name
        # the records glued the raw block straight onto the instruction
        assert user_prompt(rendered, separator="") == user, path.name


def test_training_block_details(fixtures_dir: Path) -> None:
    paths = _conversations(fixtures_dir)
    counts = {
        p.name: len(
            load_references(
                _split_user_turn(json.loads(p.read_text())["messages"][1]["content"]), strict=False
            )
        )
        for p in paths
    }
    assert counts == {
        "conversation_001.json": 51,
        "conversation_002.json": 30,
        "conversation_003.json": 26,
        "conversation_004.json": 17,  # a thebibliography block
        "conversation_005.json": 37,
        "conversation_006.json": 32,
    }
    # conversation 2 was cut off mid-entry: strict reading names the line, lenient keeps it
    block2 = _split_user_turn(json.loads(paths[1].read_text())["messages"][1]["content"])
    with pytest.raises(ReferencesError, match="unbalanced braces"):
        load_references(block2, strict=True)
    assert load_references(block2, strict=False)[-1].truncated


def test_training_abstract_lines_come_from_the_record_references(fixtures_dir: Path) -> None:
    """Each Abstract: line is exactly the abstract of one of the record's references, and that
    reference has the entry's title. (The whole block cannot be rebuilt from the record: the
    BibTeX entries are not in it, and some entries whose title matches a record reference with an
    abstract got no Abstract: line.)"""

    def norm(s: str) -> str:
        return re.sub(r"[^a-z0-9]", "", s.lower())

    total = 0
    for path in _conversations(fixtures_dir):
        record = json.loads(path.read_text(encoding="utf-8"))
        by_abstract = {r["abstract"]: r["title"] for r in record["references"] if r.get("abstract")}
        refs = load_references(_split_user_turn(record["messages"][1]["content"]), strict=False)
        for ref in refs:
            if ref.abstract_line is None:
                continue
            total += 1
            assert ref.abstract_line.startswith("Abstract: ") and ref.abstract_line.endswith("\n")
            text = ref.abstract_line[len("Abstract: ") : -1]
            assert text in by_abstract, (path.name, ref.key)
            assert norm(by_abstract[text]) == norm(ref.title), (path.name, ref.key)
    assert total == 121


def test_tutorial_bib_crlf(fixtures_dir: Path) -> None:
    path = fixtures_dir / "references" / "references_tutorial.bib"
    assert b"\r\n" in path.read_bytes()
    refs = load_references(path)
    assert len(refs) == 85
    assert len({r.key for r in refs}) == 85
    assert sum(1 for r in refs if r.abstract) == 2
    block = render_references(refs)
    assert "\r" not in block and block.count("\nAbstract: ") + block.startswith("Abstract: ") == 2
    # both in-entry abstracts (one braced, one quoted) left their entries
    assert not re.search(r"^\s*abstract\s*=", block, re.M | re.I)
    assert len(load_references(block)) == 85


def test_cli_reads_stdin(refs_dir: Path) -> None:
    text = _read(refs_dir / "layout_block.txt")
    result = CliRunner().invoke(app, ["references", "render", "-"], input=text.encode("utf-8"))
    assert result.exit_code == 0, result.output
    assert result.stdout == text
