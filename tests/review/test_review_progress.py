"""Long reviews show progress: the embedded stand-in's budget is stated, and a piped run logs
plain progress lines with tokens and tok/s (a real embedded-model run through the CLI)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cycleresearcher.engines.base import SamplingParams
from cycleresearcher.prompts.grammars import EMBEDDED_REPEAT_PENALTY, EMBEDDED_REPEAT_WINDOW
from cycleresearcher.review.embedded import (
    EMBEDDED_REVIEW_INPUT_TOKENS,
    EMBEDDED_REVIEW_MAX_TOKENS,
    budget_note,
    embedded_context,
)

SRC = Path(__file__).parents[2] / "src"


def test_budget_note_states_tokens_input_cut_and_minutes():
    note = budget_note(1536, 3072)  # any numbers: the note says what it is given
    assert note.startswith("embedded stand-in: up to 1536 new tokens, input cut to 3072 tokens; writing ")
    # 1536 tokens at 80 tok/s (idle) and at 20 tok/s (busy)
    assert "19s at 80 tok/s (idle CPU) to 1m17s at 20 tok/s (busy CPU)" in note
    assert embedded_context(1536, 3072) == 3072 + 1536 + 16


def test_the_budget_note_counts_every_paper_and_promises_no_bound():
    """3 papers were announced as "40s at most" (one review's tokens) and took 4m46s: the note
    counts each paper's review and says that reading the input comes first, not "at most"."""
    note = budget_note(800, 3584, papers=3)
    assert "the reviews of 3 paper(s) takes about 30s at 80 tok/s (idle CPU) to 2m00s at 20 tok/s" in note
    assert "after reading each paper's input" in note and "at most" not in note


@pytest.mark.slow
def test_the_embedded_reviewer_gets_the_small_budget_and_released_models_keep_upstream():
    pytest.importorskip("llama_cpp")
    from cycleresearcher.review.cyclereviewer import CycleReviewer
    from cycleresearcher.review.deepreviewer import DeepReviewer

    released = CycleReviewer(model="WestlakeNLP/CycleReviewer-ML-Llama3.1-8B")
    assert released.sampling.max_tokens == 7000 and released.input_cut is None
    assert DeepReviewer(model="14B").sampling.max_tokens == 35000
    assert CycleReviewer(model="embedded", max_tokens=99).sampling.max_tokens == 99  # the user's choice wins
    with CycleReviewer(model="embedded") as rev:
        assert rev.sampling.max_tokens == EMBEDDED_REVIEW_MAX_TOKENS
        # the GGUF's 8,192-token context is cut so the prompt keeps at most the input cut
        assert rev.context_length == embedded_context(EMBEDDED_REVIEW_MAX_TOKENS) < rev.engine.context_length
        assert rev.budget_note() == budget_note(EMBEDDED_REVIEW_MAX_TOKENS, EMBEDDED_REVIEW_INPUT_TOKENS)
        # the papers' anti-loop sampling: without it a Standard review repeated a date to the budget
        assert (rev.sampling.repeat_penalty, rev.sampling.repeat_last_n) == (
            EMBEDDED_REPEAT_PENALTY,
            EMBEDDED_REPEAT_WINDOW,
        )
    assert (released.sampling.repeat_penalty, DeepReviewer(model="14B").sampling.repeat_penalty) == (1.0, 1.0)
    own = SamplingParams(max_tokens=50)  # a user's sampling is kept as given
    assert CycleReviewer(model="embedded", sampling=own).sampling.repeat_penalty == 1.0


@pytest.mark.slow
def test_a_piped_cli_review_logs_progress_with_tokens_and_rate(data_dir, tmp_path):
    pytest.importorskip("llama_cpp")
    paper = data_dir / "review_run" / "papers" / "sparseroute.md"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "cycleresearcher.cli", "review", str(paper), "--max-tokens", "24",
           "--context-length", "768", "--engine-opt", "n_ctx=768", "-o", str(tmp_path / "run")]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr
    assert "embedded stand-in: up to 24 new tokens, input cut to 728 tokens" in err
    lines = [line for line in err.splitlines() if line.startswith("progress review:")]
    assert len(lines) >= 2, err  # when the batch begins and when it ends
    last = re.fullmatch(r"progress review: 1/1 requests, (\d+) tokens, ([\d.]+) tok/s, ETA 0s, \d+s elapsed", lines[-1])
    assert last, lines[-1]
    assert 0 < int(last[1]) <= 24 and float(last[2]) > 0
    assert "\x1b[" not in err  # plain text, no terminal codes, when stderr is not a terminal
