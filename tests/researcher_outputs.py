"""Scripted CycleResearcher outputs (turn 3, the results, turn 5), shared by the research and
results tests (importable from any test directory: tests/ is on sys.path; the two-entry .bib
they generate from is the ``bib`` fixture of conftest.py)."""

from __future__ import annotations

import json

STAGE1 = r"""## Motivation

Long contexts are expensive.

## Main Idea

Compress the keys.

## Interestingness

7

## Feasibility

6

## Novelty

5

```latex
\title{Key {Compression} for Attention}
\begin{abstract}We compress keys.\end{abstract}
\section{Introduction}
Intro text \citep{vaswani2017attention}.
```

## Experimental Setup

```json
[{"name": "Main", "description": "Compare perplexity."}]
```
"""

RESULTS = [
    {
        "name": "Main",
        "result": {"table": [["Method", "PPL"], ["Ours", "10.1"]], "description": "ours is better"},
    }
]
TURN5 = "```latex\n\\section{Experiments}\nOurs reaches 10.1.\n\\section{Conclusion}\nDone.\n```"


def simulated_output(k: int) -> str:
    return STAGE1.replace("Key {Compression}", f"Key {{Compression}} {k}") + (
        "\n## Experimental_results\n\n```json\n" + json.dumps(RESULTS) + "```\n\n" + TURN5
    )
