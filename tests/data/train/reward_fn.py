"""A deterministic test reward from text features (no model): the share of vowels among the
letters of the generated text, scaled to 0..10. Different samples almost never tie, and the same
text always gets the same reward, so tests can recompute the expected pairs."""

from __future__ import annotations


def vowel_reward(papers, scale: float = 10.0, **_):
    out = []
    for paper in papers:
        text = paper.generated_text if hasattr(paper, "generated_text") else str(paper)
        letters = [c for c in text.lower() if c.isalpha()]
        if not letters:
            out.append(None)  # nothing to score: "unrated"
            continue
        out.append(round(scale * sum(c in "aeiou" for c in letters) / len(letters), 6))
    return out


def vowel_reward_or_die(papers, kill_marker: str | None = None, **options):
    """``vowel_reward``, but the first call SIGKILLs its own process (creating ``kill_marker``),
    so tests can check that a killed round resumes from the run store."""
    import os
    import signal
    from pathlib import Path

    if kill_marker and not Path(kill_marker).exists():
        Path(kill_marker).write_text("killed", encoding="utf-8")
        os.kill(os.getpid(), signal.SIGKILL)
    return vowel_reward(papers, **options)
