"""The paper stage: the Paper record, the parser of CycleResearcher output, experiment results,
readers of paper files and the exports.

    record.py      the Paper dataclass (model-card keys in ``to_dict``)
    parse.py       parse_paper, parse_stage1, complete_paper (never raise on model output)
    results.py     the documented shape of experiment results (validate_results, load_results)
    grounding.py   whether the numbers of the results LaTeX come from the supplied results
    pdf_text.py    what PDF text extraction leaves behind, removed
    files.py       reading regular files only, and only inside a LaTeX project's folder
    readers.py     one paper file (.pdf, .tex, .md, .txt, Paper .json) as a Document
    latex_project.py  a LaTeX project as one paper: main file, includes, reference list
    latex_text.py  switched-off text, drawings, figures and tables of LaTeX (pure)
    latex_macros.py  the authors' macros: definitions read, uses expanded (pure)
    latex_refs.py  the reference list from the .bbl or the cited .bib entries
    batch.py       many paths (files, folders, run directories) as Documents
    export/        JSON, Markdown, the LaTeX project and its sandboxed compile to PDF

The names below are the ones ``cycleresearcher.paper`` has always offered; the results turn
(``results_message``) is built once, in ``prompts.research``, and only re-exported here.
"""

from __future__ import annotations

from ..prompts.research import results_message
from .parse import RESULTS_HEADER, TURN_JOINT, complete_paper, open_environments, parse_paper, parse_stage1
from .record import Paper, Stage

__all__ = [
    "RESULTS_HEADER",
    "TURN_JOINT",
    "Paper",
    "Stage",
    "complete_paper",
    "open_environments",
    "parse_paper",
    "parse_stage1",
    "results_message",
]
