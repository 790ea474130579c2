"""Reading within a budget: a real PDF bomb (20 pages sharing one stream that decompresses to 5 MB
of text operators, about 21 KB on disk) is refused in a second by the size budget, and past the
time budget by the clock (its worker killed); ordinary files read as before, through a worker; the
CLI batch goes on past the bomb with the same budget, which an environment setting raises."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from cycleresearcher.errors import InputError
from cycleresearcher.paper.batch import iter_documents
from cycleresearcher.paper.budget import ReadBudget, load_references, pdf_content_bytes, read_document
from support import FAKE_ENGINE, child_env
from support.pdf_bomb import bomb_pdf, text_pdf

LINES = [
    "Harbour Lights for Gradient Noise",
    "We describe a learning rate schedule that follows the variance of recent updates.",
    "It brightens and dims like a lighthouse, and we measure what it changes.",
]


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    path = tmp_path_factory.mktemp("bomb") / "bomb.pdf"
    path.write_bytes(bomb_pdf(20, 5.0))
    return path


def test_the_bomb_is_small_and_a_real_pdf(bomb):
    assert bomb.stat().st_size < 30_000  # about 21 KB
    from pypdf import PdfReader

    reader = PdfReader(bomb)
    assert len(reader.pages) == 20
    assert pdf_content_bytes(bomb, 2**40) >= 20 * 5 * 10**6  # 100 MB of page content


def test_the_size_budget_refuses_the_bomb_at_once(bomb):
    start = time.monotonic()
    with pytest.raises(InputError, match=r"bomb\.pdf: its pages decompress to more than 64 MB.*READ_MAX_MB"):
        read_document(bomb, ReadBudget())
    assert time.monotonic() - start < 10  # before: 5.7 s a page, about 2 minutes, no limit


def test_the_time_budget_stops_a_slow_read(bomb):
    start = time.monotonic()
    with pytest.raises(InputError, match=r"bomb\.pdf: reading it took longer than 1 s.*READ_SECONDS"):
        read_document(bomb, ReadBudget(seconds=1, max_bytes=2**40))
    assert time.monotonic() - start < 8


def test_ordinary_files_read_through_the_worker(tmp_path):
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(text_pdf([LINES, LINES[1:], LINES[:2]]))
    doc = read_document(pdf)
    assert doc.kind == "pdf" and "brightens and dims like a lighthouse" in doc.text
    md = tmp_path / "paper.md"
    md.write_text("# A title\n\nSome text.\n")
    assert read_document(md).title == "A title"
    with pytest.raises(InputError, match=r"nope\.md: no such file"):
        read_document(tmp_path / "nope.md")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    with pytest.raises(InputError, match=r"broken\.pdf: not a readable PDF"):
        read_document(broken)


def test_a_relative_path_is_read_from_the_callers_folder(tmp_path, monkeypatch):
    """The worker is reused: a relative path once named the file in the folder the worker started
    in ("no such file" after the caller changed folder, e.g. between two tests or web requests)."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "paper.md").write_text(f"# Paper {name}\n\nSome text.\n")
    monkeypatch.chdir(tmp_path / "a")
    assert read_document("paper.md").title == "Paper a"  # starts (or reuses) a worker
    monkeypatch.chdir(tmp_path / "b")
    doc = read_document("paper.md")
    assert doc.title == "Paper b" and doc.path == "paper.md"


def test_references_parse_in_the_worker():
    refs = load_references(b"@article{a1, title={A Title}, author={Doe, Jane}, year={2020}}\n", "refs.bib")
    assert [r.title for r in refs.references] == ["A Title"]
    with pytest.raises(InputError, match="refs.bib"):
        load_references(b"@article{a1, title={unclosed\n", "refs.bib", ReadBudget(seconds=30))


def test_a_batch_goes_on_past_the_bomb(bomb, tmp_path):
    good = tmp_path / "good.md"
    good.write_text("# Good\n\nA paper.\n")
    start = time.monotonic()
    got = dict(iter_documents([bomb, good]))
    assert isinstance(got[str(bomb)], InputError) and got[str(good)].title == "Good"
    assert time.monotonic() - start < 15


def test_the_cli_refuses_the_bomb_and_the_setting_raises_the_budget(bomb, tmp_path):
    good = tmp_path / "good.md"
    good.write_text("# A good paper\n\nWe study things carefully and report what we found.\n")

    def review(**env: str) -> tuple[subprocess.CompletedProcess, float]:
        start = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "cycleresearcher",
                "review",
                str(bomb),
                str(good),
                "-e",
                FAKE_ENGINE,
                "-m",
                "x",
            ]
            + ["-o", str(tmp_path / f"rv{len(env)}")],
            capture_output=True,
            text=True,
            timeout=300,
            env=child_env(COLUMNS="250", **env),
        )
        return proc, time.monotonic() - start

    proc, took = review()
    err = " ".join(proc.stderr.split())
    assert proc.returncode == 3 and "decompress to more than 64 MB" in err, err
    assert err.count("Skipped") == 1 and "1 unreadable" in err, err  # the good paper went on
    assert took < 60
    # raising the size budget lets the reader start; the time budget (raised by its own setting too) stops it
    proc, took = review(CYCLERESEARCHER_READ_MAX_MB="1000", CYCLERESEARCHER_READ_SECONDS="2")
    err = " ".join(proc.stderr.split())
    assert proc.returncode == 3 and "took longer than 2 s" in err, err
