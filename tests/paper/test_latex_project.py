"""LaTeX projects read as TeX reads them: main file, includes, switched-off text, macros, floats,
drawings and the reference list; written projects in temporary folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from cycleresearcher.errors import InputError
from cycleresearcher.paper.batch import iter_documents
from cycleresearcher.paper.latex_project import choose_main, read_project
from cycleresearcher.paper.latex_text import drop_conditionals
from cycleresearcher.paper.readers import Document, read_document

PREAMBLE = r"""\documentclass{article}
\usepackage{pifont}
\newcommand{\cmark}{\ding{51}}
\newcommand{\method}{\textsc{TideNet}\xspace}
\newcommand{\note}[1]{}
\renewcommand{\quotation}[1]{``#1''}
\def\pair#1#2{(#1, #2)}
\DeclareMathOperator{\argmax}{arg\,max}
\newcommand{\best}[2][bold]{\textbf{#2}}
\newif\ifdraft
\draftfalse
\title{{\LARGE\bf Harbour Tides for \method}}
"""


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    body = r"""\begin{document}
\maketitle
\input{sections/intro}
\include{sections/method.tex}
\input{sections/missing}
\section{Again}
\input{sections/missing}
\bibliographystyle{plain}
\bibliography{refs}
\end{document}
"""
    return write(
        tmp_path / "proj",
        {
            "main.tex": PREAMBLE + body,
            # nested: TeX reads \input{sections/detail} from the main folder, not from sections/
            "sections/intro.tex": "\\section{Introduction}\nIntro text of the tides \\cite{moon2020}.\n"
            "\\input{sections/detail}\n",
            "sections/detail.tex": "Detail paragraph reached through a nested input.\n",
            "sections/method.tex": METHOD,
            "refs.bib": "@article{moon2020, author={Luna, Ada}, title={Tides of the {Moon}}, journal={Sea}, "
            "year={2020}}\n@article{uncited, title={Never Cited Work}, year={1999}}\n",
            "figures/plot.pdf": b"%PDF-1.4 figure, not a paper",
            "notes.md": "# Notes to self\n\nnot a paper\n",
        },
    )


METHOD = r"""\section{Method}
The \method model is fast. \note{TODO check this claim with Bob}
\quotation{calm water} and \pair{a}{b} and $\argmax_x f$ and \best{strong} and \best[it]{weaker}.
\iffalse
Old abandoned paragraph about lighthouses.
\fi
\ifdraft Draft-only remark about keepers. \else Final wording of the remark. \fi
\begin{comment}
A commented-out experiment on buoys.
\end{comment}
Results: ours \cmark, theirs \xmark.
\begin{figure}[t]
\centering
\includegraphics[width=\linewidth]{figures/plot.pdf}
\caption{Tide height over time.\label{fig:tide}}
\end{figure}
\begin{table}[h]
\caption{Accuracy by harbour.}
\resizebox{\linewidth}{!}{
\begin{tabular}{l|c{p{2cm}}c}
\toprule
Harbour & \multicolumn{2}{c}{Accuracy} \\
\midrule
North & 91.2 & 93.0 \\
\bottomrule
\end{tabular}}
\end{table}
\begin{tikzpicture}
\draw (0,0) -- (1,1) node {TIKZ-NODE-LABEL};
\end{tikzpicture}
\begin{axis}[xlabel=PGF-AXIS-LABEL]
\addplot coordinates {(0,1) (1,2)};
\end{axis}
\begin{center}\begin{small}Centred note.\end{small}\end{center}
\begin{figure}\input{figures/curve.pgf}\caption{A drawn curve.}\end{figure}
End of method.
"""


def test_nested_input_from_a_subfolder_is_resolved_from_the_main_folder(project: Path):
    doc = read_document(project / "main.tex")
    assert "Detail paragraph reached through a nested input." in doc.text
    assert "Intro text of the tides" in doc.text and "End of method." in doc.text
    missing = [w for w in doc.warnings if "not found" in w]
    assert missing == ["\\input{sections/missing}: missing.tex not found; not included"], doc.warnings


def test_switched_off_text_is_dropped(project: Path):
    text = read_document(project / "main.tex").text
    for gone in ("abandoned paragraph", "Draft-only remark", "buoys", "TODO check this claim"):
        assert gone not in text
    assert "Final wording of the remark." in text
    assert "\\iffalse" not in text and "\\ifdraft" not in text and "\\note" not in text


def test_user_macros_are_expanded_and_symbols_readable(project: Path):
    doc = read_document(project / "main.tex")
    text = doc.text
    assert "The \\textsc{TideNet} model is fast." in text
    assert "``calm water''" in text and "(a, b)" in text
    assert "\\operatorname{arg\\,max}_x" in text
    assert "\\textbf{strong}" in text and "\\textbf{weaker}" in text
    assert "ours ✓, theirs ✗" in text
    for raw in ("\\method", "\\quotation", "\\pair", "\\cmark", "\\argmax", "\\best", "\\xspace"):
        assert raw not in text
    assert doc.title == "Harbour Tides for TideNet"  # not "LARGE bf Harbour ..."
    assert text.startswith("\\title{Harbour Tides for TideNet}")


def test_figures_and_tables_reduced_and_drawings_dropped(project: Path):
    text = read_document(project / "main.tex").text
    assert "Figure: Tide height over time." in text
    assert "Table: Accuracy by harbour." in text
    assert "Harbour | Accuracy\nNorth | 91.2 | 93.0" in text
    assert "Centred note." in text and "Figure: A drawn curve." in text
    for raw in (
        "includegraphics",
        "\\toprule",
        "\\begin{tabular}",
        "resizebox",
        "multicolumn",
        "TIKZ-NODE",
        "PGF-AXIS",
        "addplot",
        "\\begin{center}",
        "\\begin{small}",
        "curve.pgf",
    ):
        assert raw not in text


def test_reference_list_from_the_cited_bib_entries(project: Path):
    text = read_document(project / "main.tex").text
    assert text.rstrip().endswith("\\section*{References}\nLuna, Ada. Tides of the Moon. Sea, 2020.")
    assert "Never Cited Work" not in text and "\\bibliography{" not in text


def test_reference_list_from_the_bbl_when_present(project: Path):
    (project / "main.bbl").write_text(
        "\\begin{thebibliography}{1}\n\\bibitem[Luna(2020)]{moon2020}\nAda Luna.\n\\newblock Tides of the "
        "{Moon}, printed.\n\\newblock \\emph{Sea}, 2020.\n\\end{thebibliography}\n"
    )
    proj = read_project(project / "main.tex")
    assert proj.references.source == "main.bbl"
    assert proj.text.rstrip().endswith(
        "\\section*{References}\nAda Luna. Tides of the Moon, printed. Sea, 2020."
    )


def test_a_project_folder_is_one_paper_and_figure_pdfs_are_not_papers(project: Path):
    results = list(iter_documents([project]))
    assert len(results) == 1, results
    label, doc = results[0]
    assert isinstance(doc, Document) and Path(label).name == "main.tex"
    assert "Detail paragraph" in doc.text
    assert read_document(project).text == doc.text  # the folder itself is readable as the paper


def test_a_folder_of_projects_and_papers_gives_one_document_each(project: Path, tmp_path: Path):
    other = write(
        tmp_path / "proj" / ".." / "second",
        {
            "paper.tex": "\\documentclass{article}\\title{Second}\\begin{document}Second body.\\end{document}\n"
        },
    )
    (tmp_path / "loose.md").write_text("# Loose\n\nA markdown paper.\n")
    results = list(iter_documents([tmp_path]))
    names = sorted(Path(label).name for label, _ in results)
    assert names == ["loose.md", "main.tex", "paper.tex"], names
    assert other.exists()


def test_main_file_is_the_one_no_other_file_includes(tmp_path: Path):
    write(
        tmp_path,
        {
            "appendix.tex": "\\documentclass{article}\\begin{document}Appendix body.\\end{document}\n",
            "zpaper.tex": "\\documentclass{article}\\title{Real}\\begin{document}Real body.\n"
            "\\subfile{appendix}\\end{document}\n",
            "rebuttal.tex": "\\documentclass{article}\\begin{document}Dear reviewers.\\end{document}\n",
        },
    )
    choice = choose_main(tmp_path)
    assert choice is not None and choice.main.name == "zpaper.tex"
    assert len(choice.candidates) == 3
    doc = read_document(tmp_path)
    assert "Real body." in doc.text and "Appendix body." in doc.text and "Dear reviewers" not in doc.text
    assert doc.warnings[0].startswith("main file: zpaper.tex"), doc.warnings
    assert "rebuttal.tex" in doc.warnings[0]


def test_main_file_with_a_compiled_pdf_wins_over_a_side_copy(tmp_path: Path):
    write(
        tmp_path,
        {
            "draft.tex": "\\documentclass{article}\\begin{document}Old draft.\\end{document}\n",
            "final.tex": "\\documentclass{article}\\begin{document}Final text.\\end{document}\n",
            "final.pdf": b"%PDF-1.4",
        },
    )
    assert choose_main(tmp_path).main.name == "final.tex"  # type: ignore[union-attr]


def test_import_and_subimport_follow_the_import_package(tmp_path: Path):
    write(
        tmp_path,
        {
            "main.tex": "\\documentclass{article}\\begin{document}\n\\import{chapters/one/}{body}\nDone.\n"
            "\\end{document}\n",
            # inside an imported file, \input is relative to its own folder; \subimport to it too
            "chapters/one/body.tex": "Chapter one.\n\\input{part}\n\\subimport{deep/}{leaf}\n",
            "chapters/one/part.tex": "Part beside the imported file.\n",
            "chapters/one/deep/leaf.tex": "Leaf through subimport.\n",
        },
    )
    doc = read_document(tmp_path / "main.tex")
    for s in ("Chapter one.", "Part beside the imported file.", "Leaf through subimport.", "Done."):
        assert s in doc.text
    assert not [w for w in doc.warnings if "not found" in w], doc.warnings


def test_conditionals_nest_and_unknown_ones_stay():
    warnings: list[str] = []
    text = r"a \iffalse b \ifx\x\y c \fi d \else e \fi f \ifmmode g \fi h \iftrue i \else j \fi"
    out = drop_conditionals(text, {}, warnings)
    assert " ".join(out.split()) == r"a e f \ifmmode g \fi h i"
    assert warnings == []
    drop_conditionals(r"x \iffalse never closed", {}, warnings)
    assert warnings and "never closes" in warnings[0]


def test_inputs_inside_switched_off_text_are_not_reported_missing(tmp_path: Path):
    write(
        tmp_path,
        {
            "main.tex": "\\documentclass{article}\\begin{document}Kept.\n\\iffalse\\input{gone}\\fi\n"
            "\\begin{comment}\n\\input{gone2}\n\\end{comment}\n\\end{document}\n"
        },
    )
    doc = read_document(tmp_path / "main.tex")
    assert "Kept." in doc.text and not doc.warnings


def test_macros_that_program_tex_or_restyle_structure_stay_and_bombs_stop():
    from cycleresearcher.paper.latex_macros import expand, expandable, read_definitions

    src = (
        r"\renewcommand{\section}[1]{\oldsection{#1}}"
        r"\newcommand{\cs}{\csname foo\endcsname}"
        r"\providecommand{\ok}{first}\providecommand{\ok}{second}"
        + "".join(
            f"\\newcommand{{\\m{a}}}{{\\m{b}\\m{b}}}"
            for a, b in zip("abcdefghijklmnopqrst", "bcdefghijklmnopqrstu", strict=True)
        )
    )
    macros = expandable(read_definitions(src)[0])
    assert "section" not in macros and "cs" not in macros and macros["ok"].body == "first"
    assert expand(r"\section{A} \cs \ok.", macros) == r"\section{A} \cs first."
    text = r"\ma " * 2000
    assert len(expand(text, macros)) < 5 * len(text) + 200_000  # 2**20 copies each, without the bound


def test_review_of_a_project_folder_reviews_one_paper_ending_with_its_references(
    project: Path, tmp_path: Path, data_dir: Path
):
    from cycleresearcher.review.cyclereviewer import CycleReviewer
    from cycleresearcher.review.runner import review_files
    from support.fake_engine import FakeEngine

    engine = FakeEngine((data_dir / "review_run" / "cyclereviewer_a.txt").read_text())
    res = review_files([project], CycleReviewer(model="x", engine=engine), tmp_path / "run")
    assert len(res.outcomes) == 1 and not res.unreadable  # not notes.md, not figures/plot.pdf
    sent = "\n".join(m["content"] for m in engine.calls[0].messages if m["role"] == "user")
    assert "Detail paragraph reached through a nested input." in sent
    assert "abandoned paragraph" not in sent
    assert sent.rstrip().endswith("Luna, Ada. Tides of the Moon. Sea, 2020.")


def test_a_standalone_tex_among_loose_papers_does_not_make_the_folder_a_project(tmp_path: Path):
    write(
        tmp_path,
        {
            "alone.tex": "\\documentclass{article}\\title{Alone}\\begin{document}Alone body.\\end{document}\n",
            "other.md": "# Other\n\nAnother paper.\n",
            "third.txt": "Third paper as text.\n",
        },
    )
    names = sorted(Path(label).name for label, _ in iter_documents([tmp_path]))
    assert names == ["alone.tex", "other.md", "third.txt"]
    with pytest.raises(InputError, match="no LaTeX project"):
        read_document(tmp_path)
    (tmp_path / "refs.bib").write_text("@misc{a, title={A}}\n")  # now it is a project: one paper
    assert [Path(label).name for label, _ in iter_documents([tmp_path])] == ["alone.tex"]
