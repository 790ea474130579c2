"""Where the check looks: .bib corpora, paper-record JSON, folders of LaTeX projects and Markdown
papers (read through the project's readers), duplicates across sources, the subject itself."""

from __future__ import annotations

import json

import pytest
from novelty_corpus import WORKS, bib_text, corpus_bib, no_user_cache  # noqa: F401  (fixtures)

from cycleresearcher.errors import InputError
from cycleresearcher.novelty.records import Subject, Work
from cycleresearcher.novelty.sources import abstract_of, corpus_works, dedupe


def test_bib_corpus_gives_titles_years_and_abstracts(corpus_bib):
    warnings: list[str] = []
    found = corpus_works([corpus_bib], warnings)
    works = found["corpus:library.bib"]
    assert [w.title for w in works] == [t for t, _, _ in WORKS.values()]
    assert works[0].year == "2023" and works[0].abstract.startswith("Long contexts make the key-value cache")
    assert works[0].key == "kvcache" and warnings == []


def test_record_json_gives_the_record_and_its_references(tmp_path):
    path = tmp_path / "records.json"
    path.write_text(json.dumps([
        {"paperId": "p1", "title": "Listening to coral reefs", "year": 2021, "abstract": WORKS["reef"][2],
         "references": [{"paperId": "r1", "title": "Learning to rank with pairwise losses", "abstract": WORKS["ranking"][2]}]},
        {"title": "Message passing networks for molecules", "abstract": WORKS["graphs"][2]},
    ]), encoding="utf-8")  # fmt: skip
    works = corpus_works([path], [])["corpus:records.json"]
    assert [(w.title, w.key, w.year) for w in works] == [
        ("Listening to coral reefs", "p1", "2021"),
        ("Learning to rank with pairwise losses", "r1", ""),
        ("Message passing networks for molecules", "", ""),
    ]


def test_folder_reads_latex_projects_once_markdown_and_bib(tmp_path):
    lib = tmp_path / "lib"
    (lib / "proj" / "sections").mkdir(parents=True)
    (lib / "proj" / "main.tex").write_text(
        "\\documentclass{article}\n\\title{Separating overlapping speakers in meetings}\n\\begin{document}\n"
        f"\\begin{{abstract}}\n{WORKS['speech'][2]}\n\\end{{abstract}}\n\\input{{sections/intro}}\n\\end{{document}}\n",
        encoding="utf-8",
    )
    (lib / "proj" / "sections" / "intro.tex").write_text("\\section{Introduction}\nMeetings are noisy.\n")
    (lib / "notes.md").write_text(
        f"# Listening to coral reefs\n\n## Abstract\n\n{WORKS['reef'][2]}\n\n## Introduction\n\nMore.\n"
    )
    (lib / "refs.bib").write_text(bib_text(["soil"]), encoding="utf-8")
    warnings: list[str] = []
    works = corpus_works([lib], warnings)["corpus:lib"]
    titles = sorted(w.title for w in works)
    assert titles == ["Irrigation scheduling from soil moisture probes", "Listening to coral reefs",
                      "Separating overlapping speakers in meetings"]  # fmt: skip
    speech = next(w for w in works if w.title.startswith("Separating"))
    assert speech.abstract == WORKS["speech"][2]  # the abstract environment, not the \input section
    reef = next(w for w in works if w.title.startswith("Listening"))
    assert reef.abstract == WORKS["reef"][2], "the text between the Abstract and Introduction headings"
    assert warnings == []


def test_missing_and_unknown_corpus_fail_with_what_to_do(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        corpus_works([tmp_path / "nope.bib"], [])
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(InputError, match=r"\.bib"):
        corpus_works([tmp_path / "x.csv"], [])


def test_dedupe_keeps_the_first_source_and_leaves_out_the_subject_itself():
    subject = Subject("s", title="Listening to Coral Reefs!")
    groups = {
        "references": [Work("Learning to rank with pairwise losses"), Work("Listening to coral reefs")],
        "corpus:a.bib": [
            Work("Learning to Rank with Pairwise Losses."),
            Work("Message passing networks for molecules"),
        ],
    }
    works, counts = dedupe(groups, subject)
    assert [w.title for w in works] == [
        "Learning to rank with pairwise losses",
        "Message passing networks for molecules",
    ]
    assert counts == {"references": 1, "corpus:a.bib": 2}, "per source, duplicates included"


def test_abstract_of_text_without_markers_takes_the_start():
    assert abstract_of("\\title{T}\nPlain words only.") == "Plain words only."
    assert abstract_of("Title\n\nAbstract\nWe do X.\n\n1 Introduction\nY") == "We do X."
