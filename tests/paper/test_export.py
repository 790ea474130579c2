"""Exports of a Paper: JSON, Markdown, LaTeX project and a real TeX compile; the `paper` CLI."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.paper import Paper, parse_paper
from cycleresearcher.paper.export import (
    DISCLOSURE,
    SIMULATED_NOTICE,
    build_main_tex,
    cited_keys,
    export_json,
    export_latex_project,
    export_markdown,
    to_markdown,
)

needs_tex = pytest.mark.skipif(shutil.which("latexmk") is None, reason="latexmk is not installed")


@pytest.fixture(scope="module")
def paper(data_dir) -> Paper:
    return parse_paper((data_dir / "paper" / "generation_full.txt").read_text())


@pytest.fixture(scope="module")
def bibtex(data_dir) -> str:
    return (data_dir / "paper" / "references.bib").read_text()


def _pdf_text(path) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(str(path)).pages)


def test_json_export_carries_disclosure_and_round_trips(paper, tmp_path):
    data = json.loads(export_json(paper, tmp_path / "p.json").read_text())
    assert DISCLOSURE in data["disclosure"] and SIMULATED_NOTICE in data["disclosure"]
    assert data["title"] == paper.title and data["Experimental_results"] == paper.experimental_results
    assert Paper.from_dict(data) == paper
    measured = Paper.from_dict({**data, "results_simulated": False})
    assert (
        SIMULATED_NOTICE
        not in json.loads(export_json(measured, tmp_path / "m.json").read_text())["disclosure"]
    )


def test_markdown_export(paper, tmp_path):
    md = export_markdown(paper, tmp_path / "p.md").read_text()
    # the title as people read it: the braces that protect its case in LaTeX are gone
    assert md.startswith("# Warm Routing: Annealed Mixture-of-Experts Routers Without Auxiliary Losses\n")
    assert DISCLOSURE in md and SIMULATED_NOTICE in md
    assert "| Warm Routing | 18.1 | 16 |" in md and "## Experimental results (simulated)" in md
    assert "*Self-assessed interestingness: 7, feasibility: 8, novelty: 6*" in md
    real = Paper.from_dict({**paper.to_dict(), "results_simulated": False})
    assert SIMULATED_NOTICE not in export_markdown(real, tmp_path / "r.md").read_text()


def test_cited_keys_variants():
    latex = (
        r"\citep{a,b} \citet[p.~3]{c} \cite[see][]{d} \citeauthor*{e} \nocite{f} % \cite{hidden}"
        + "\n\\citealp{ a }"
    )
    assert cited_keys(latex) == ["a", "b", "c", "d", "e", "f"]


def test_main_tex_structure(paper):
    source, warnings = build_main_tex(paper, has_bib=True)
    assert source.count("\\title{") == 1 and "\\title{Warm Routing: Annealed {Mixture-of-Experts}" in source
    assert "\\bibliography{references}" in source and "\\usepackage[numbers,sort]{natbib}" in source
    assert "```" not in source and warnings == []
    assert "results simulated, not measured" in source


def test_truncated_body_is_closed():
    p = Paper(
        title="T",
        latex="\\section{A}\n\\begin{table}\n\\begin{tabular}{ll}\na & {\\bf b",
        results_simulated=False,
    )
    source, warnings = build_main_tex(p, has_bib=False)
    assert "a & {\\bf b}\n\\end{tabular}\n\\end{table}\n\n\\end{document}" in source
    assert "results simulated" not in source
    assert any("tabular" in w for w in warnings) and any("unbalanced" in w for w in warnings)


def test_latex_project_without_compile(paper, bibtex, tmp_path):
    res = export_latex_project(paper, tmp_path, bibtex, compile=False)
    assert res.pdf is None and res.main_tex.read_text().startswith("\\documentclass")
    # the three given entries, and one saying the model's fourth key was not among them (no [?])
    assert res.bib.read_text().count("@") == 4 and "@misc{zhou2022mixture," in res.bib.read_text()
    assert res.unresolved_citations == ["zhou2022mixture"]
    assert any("zhou2022mixture" in w for w in res.warnings)
    no_bib = export_latex_project(paper, tmp_path / "nobib", None, compile=False)
    assert no_bib.bib.read_text().count("Not among the references given to the model") == 4
    assert len(no_bib.unresolved_citations) == 4


@pytest.mark.tex
@needs_tex
def test_compile_pdf_with_disclosure(paper, bibtex, tmp_path):
    res = export_latex_project(paper, tmp_path, bibtex)
    assert res.pdf is not None and res.pdf.exists(), res.log_excerpt
    text = _pdf_text(res.pdf)
    assert "AI-generated text" in text and "Results simulated by the model, not measured" in text
    assert "results simulated, not measured" in text  # page header
    assert "Sharding giant models automatically" in text  # bibliography resolved through BibTeX
    assert "Algorithm 1" in text and "Warm Routing" in text
    assert not list(tmp_path.glob("*.aux"))  # compiled in a temp dir, only the PDF comes back


@pytest.mark.tex
@needs_tex
def test_compile_is_sandboxed(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("SECRET-CONTENT")
    target = tmp_path / "pwned"
    body = (
        f"\\section{{S}}\nBefore. \\IfFileExists{{{outside}}}{{READABLE}}{{BLOCKED}}.\n\\input{{{outside}}}\n"
        f"\\immediate\\write18{{touch {target}}}\nAfter.\n"
    )
    res = export_latex_project(Paper(title="Sandbox", latex=body), tmp_path / "proj", None)
    assert res.pdf is not None, res.log_excerpt
    text = _pdf_text(res.pdf)
    assert "BLOCKED" in text and "READABLE" not in text and "SECRET-CONTENT" not in text  # openin_any=p
    assert not target.exists()  # no shell escape
    write = (
        "\\newwrite\\f\\immediate\\openout\\f=../escape.txt\\immediate\\write\\f{x}\\immediate\\closeout\\f\n"
    )
    blocked = export_latex_project(Paper(title="Escape", latex=write), tmp_path / "proj2", None)
    assert "I can't write on file `../escape.txt'" in blocked.log_excerpt  # openout_any=p
    assert not list(tmp_path.rglob("escape.txt"))
    assert any("\\input" in w for w in res.warnings)


@pytest.mark.tex
@needs_tex
def test_unknown_macros_and_missing_figures_still_compile(tmp_path):
    body = (
        "\\section{Method}\nWe use \\ourmethod{} on $\\cX$ with ρ = 2.\n"
        "\\begin{figure}[t]\\centering\\includegraphics[width=\\linewidth]{figs/overview.pdf}"
        "\\caption{Overview of {our} method.}\\label{fig:o}\\end{figure}\nSee Figure~\\ref{fig:o}.\n"
    )
    res = export_latex_project(Paper(title="Macros", latex=body), tmp_path, None)
    assert res.pdf is not None, res.log_excerpt
    text = _pdf_text(res.pdf)
    assert "figure not available" in text and "Overview of our method." in text
    assert any("\\ourmethod" in w and "\\cX" in w for w in res.warnings)


@pytest.mark.tex
@needs_tex
def test_real_conversation_compiles(fixtures_dir, tmp_path):
    msgs = json.loads((fixtures_dir / "research" / "conversation_003.json").read_text())["messages"]
    p = parse_paper(msgs[2]["content"] + msgs[3]["content"] + msgs[4]["content"])
    res = export_latex_project(p, tmp_path, None)
    assert res.pdf is not None, res.log_excerpt
    assert "Multigroup Robustness" in _pdf_text(res.pdf)
    assert len(res.unresolved_citations) > 10  # no references given: every key is reported


# ----------------------------------------------------------------------------- CLI

runner = CliRunner()


def test_cli_parse(data_dir):
    result = runner.invoke(app, ["paper", "parse", str(data_dir / "paper" / "generation_full.txt")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["novelty"] == 6 and data["results_simulated"] is True and data["Experimental_Setup"]


def test_cli_parse_stage1_and_missing_file(data_dir, tmp_path):
    stage1 = tmp_path / "s1.txt"
    stage1.write_text(
        (data_dir / "paper" / "generation_full.txt").read_text().split("## Experimental_results")[0]
    )
    result = runner.invoke(app, ["paper", "parse", "--stage1", str(stage1)])
    data = json.loads(result.stdout)
    assert (
        result.exit_code == 0 and data["results_simulated"] is False and data["Experimental_results"] is None
    )
    missing = runner.invoke(app, ["paper", "parse", str(tmp_path / "nope.txt")])
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_cli_export_from_raw_and_json(data_dir, tmp_path):
    raw = data_dir / "paper" / "generation_full.txt"
    result = runner.invoke(app, ["paper", "export", str(raw), "-f", "md", "-o", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "paper.md").read_text().startswith("# Warm Routing")
    records = tmp_path / "papers.json"
    p = parse_paper(raw.read_text())
    records.write_text(json.dumps([p.to_dict(), {**p.to_dict(), "title": "Second"}]))
    result = runner.invoke(
        app, ["paper", "export", str(records), "-f", "latex", "-o", str(tmp_path / "b"), "--bib", str(data_dir / "paper" / "references.bib")]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "\\title{Second}" in (tmp_path / "b" / "paper-002" / "latex" / "main.tex").read_text()
    assert (tmp_path / "b" / "paper-001" / "latex" / "references.bib").exists()
    bad = runner.invoke(app, ["paper", "export", str(raw), "-f", "docx"])
    assert bad.exit_code == 2 and "--format" in bad.output


@pytest.mark.tex
@needs_tex
def test_unstructured_output_is_shown_raw_in_markdown_and_pdf(tmp_path):
    """The tiny embedded model rarely writes the format: the exports show what it wrote instead of
    an empty paper (and the verbatim block cannot be closed early by the text)."""
    raw = "Here are some thoughts on sparse attention \\end{verbatim} and 50% of {braces}\nsecond line"
    paper = parse_paper(raw)
    assert not paper.latex
    md = to_markdown(paper)
    assert "## Raw model output (no paper structure found)" in md and "second line" in md
    res = export_latex_project(paper, tmp_path, None)
    assert res.pdf is not None, res.log_excerpt
    text = _pdf_text(res.pdf)
    assert "Raw model output" in text and "sparse attention" in text and "second line" in text


# ----------------------------------------------------------------------------- TeX processes

LOOP = "\\section{Loop}\nA macro that never ends: \\def\\x{\\x}\\x\n"


def _tex_processes(root) -> dict[int, str]:
    """Live processes (zombies are dead) working in a folder under ``root``: pdflatex, latexmk and
    the compile's watchdog all run in the ``cr-latex-*`` temp dir, which these tests put there."""
    import os

    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(str(root)) and stat.rsplit(")", 1)[1].split()[0] != "Z":
            found[int(entry)] = cmd
    return found


def _gone(root, within_s: float = 20.0) -> dict[int, str]:
    """Wait (bounded) for the TeX processes under ``root`` to end; kill and return any that do not."""
    import os
    import signal
    import time

    deadline = time.monotonic() + within_s
    while (left := _tex_processes(root)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:  # do not leave a looping pdflatex behind when the test fails
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return left


@pytest.fixture
def tex_tmp(tmp_path, monkeypatch):
    """A private temp dir for the compile's ``cr-latex-*`` folders."""
    import tempfile

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


@pytest.mark.tex
@needs_tex
def test_compile_timeout_kills_every_tex_process_and_removes_the_temp_dir(tex_tmp, tmp_path):
    res = export_latex_project(Paper(title="Loop", latex=LOOP), tmp_path / "out", None, timeout=3)
    assert _gone(tmp_path) == {}  # pdflatex did not outlive latexmk
    assert list(tex_tmp.iterdir()) == []
    assert res.pdf is None and not (tmp_path / "out" / "main.pdf").exists()
    assert any("stopped after 3 s" in w for w in res.warnings), res.warnings
    assert "timed out" in res.log_excerpt


@pytest.mark.tex
@needs_tex
def test_hostile_title_is_made_safe_and_the_rescue_pass_leaves_no_temp_dir(tex_tmp, tmp_path):
    title = "Robust 50% Gains } \\input{/etc/passwd} \\def\\y{\\y}\\y {Sparse & Fast #1"
    body = "\\section{Method}\nWe use \\ourmethod{} here.\n"
    res = export_latex_project(Paper(title=title, latex=body), tmp_path / "out", None, timeout=60)
    assert res.pdf is not None, res.log_excerpt
    text = _pdf_text(res.pdf)
    assert "Robust 50% Gains" in text and "Sparse & Fast #1" in text and "root:" not in text
    assert any("title was made safe" in w for w in res.warnings)
    assert any("\\ourmethod" in w for w in res.warnings)  # the rescue pass ran: two compiles
    assert list(tex_tmp.iterdir()) == []  # neither compile's folder is left


@pytest.mark.tex
@needs_tex
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGINT"])
def test_parent_killed_mid_compile_leaves_no_tex_process(tex_tmp, tmp_path, sig):
    """SIGKILL of the exporting process (no cleanup code runs): the compile's watchdog notices
    and stops latexmk and pdflatex. Ctrl-C (KeyboardInterrupt): the exporter stops them itself."""
    import os
    import signal
    import subprocess
    import sys
    import time

    (tmp_path / "paper.json").write_text(json.dumps(Paper(title="Loop", latex=LOOP).to_dict()))
    script = (
        "import sys, tempfile\n"
        "from cycleresearcher.paper.export import export_latex_project\n"
        "from cycleresearcher.paper import Paper\n"
        "import json\n"
        f"tempfile.tempdir = {str(tex_tmp)!r}\n"
        f"p = Paper.from_dict(json.load(open({str(tmp_path / 'paper.json')!r})))\n"
        f"export_latex_project(p, {str(tmp_path / 'out')!r}, None, timeout=300)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)

    def looping() -> bool:  # pdflatex past its start-up output, silently in the loop
        for pid, cmd in _tex_processes(tmp_path).items():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if cmd.startswith("pdflatex") and int(fields[11]) + int(fields[12]) >= os.sysconf("SC_CLK_TCK"):
                return True
        return False

    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not looping():
            time.sleep(0.2)
        assert looping(), "pdflatex never started its loop"
    finally:
        proc.send_signal(getattr(signal, sig))
        proc.wait(timeout=60)
    assert _gone(tmp_path) == {}
    assert list(tex_tmp.iterdir()) == []  # the watchdog removed the folder nobody else could


def test_markdown_keeps_the_raw_output_when_the_parser_warned(tmp_path):
    from cycleresearcher.paper.export import to_markdown
    from cycleresearcher.paper.parse import parse_paper

    raw = (
        "```latex\n\\title{Sparse Gates}\n\\begin{abstract}We gate.\\end{abstract}\n\\section{Method}\nGates.\n```\n"
        "## Experimental_results\n```json\n{\"acc\": 0.9, oops\n```\n"
    )
    paper = parse_paper(raw)
    assert paper.latex and paper.warnings, paper.warnings
    md = to_markdown(paper)
    assert "## Raw model output (the parser warned, see above)" in md and "oops" in md
    paper.warnings = []  # a clean parse: the LaTeX says it all
    assert "Raw model output" not in to_markdown(paper)


@pytest.mark.tex
@needs_tex
def test_cli_export_prints_the_log_excerpt_and_keeps_main_log(tmp_path):
    # a write outside the folder is refused by TeX (openout_any=p): a PDF with one error
    latex = "\\section{S}\nText.\n\\newwrite\\f\\immediate\\openout\\f=../escape.txt\nMore text.\n"
    record = tmp_path / "paper.json"
    record.write_text(json.dumps(Paper(title="Escape", latex=latex).to_dict()))
    result = runner.invoke(app, ["paper", "export", str(record), "-f", "pdf", "-o", str(tmp_path / "out")])
    log = tmp_path / "out" / "latex" / "main.log"
    assert log.is_file() and "I can't write on file" in log.read_text()
    assert "see the log excerpt and main.log" in result.output
    assert f"LaTeX log excerpt (full log: {log})" in " ".join(result.output.split())
    assert "! I can't write on file `../escape.txt'" in result.output
    assert re.search(r"^l\.\d+ ", result.output, re.M), result.output  # where in main.tex
    clean = runner.invoke(
        app, ["paper", "export", str(record), "-f", "latex", "-o", str(tmp_path / "out")]
    )  # no compile, no log printed
    assert clean.exit_code == 0 and "LaTeX log excerpt" not in clean.output
