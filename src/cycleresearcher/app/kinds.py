"""The kinds of records a run store holds (``RunStore.put(kind, key, data)``): one name each."""

from __future__ import annotations

from enum import Enum


class RecordKind(str, Enum):
    """A record kind. A ``str`` so that the store, which takes text, takes it as it is."""

    PAPER = "paper"  # a generated paper (``paper.Paper.to_dict``)
    REVIEW = "review"  # one paper's review outcome (``review.runner``)
    DETECTION = "detection"  # one text's Fast-DetectGPT result (``detect.Detection.to_dict``)
    DOCUMENT = "document"  # an uploaded file read to text (web)
    NOVELTY = "novelty"  # one paper's novelty check
    WINRATE = "winrate"  # a pairwise judgement of ``evaluate winrate``
    JOB = "job"  # a background job's state (``app.jobs``)

    def __str__(self) -> str:  # f-strings and paths read the value, never ``RecordKind.PAPER``
        return self.value
