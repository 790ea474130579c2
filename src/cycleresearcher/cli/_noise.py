"""Library noise kept out of the user's output unless ``--verbose``: the one place that sets it.

Without --verbose: no transformers / huggingface_hub / datasets progress bars ("Loading weights",
"Writing model shards", "Map"), no FutureWarning / DeprecationWarning / UserWarning raised inside
those libraries (TRL's and transformers' deprecation notes), TRL's experimental-API notice, and
llama.cpp's load log ("llama_context: n_ctx_seq (256) < n_ctx_train (8192) ..."), the hub's retry lines
("Retrying in 8s [Retry 5/5]"; the error that ends them is ours and stays), pypdf's log lines
("invalid pdf header", "EOF marker not found": the reader's own line says what is wrong). Our own messages and
the training step's own progress bar stay. The libraries are imported lazily, so the environment
variables do most of the work; a library already imported (tests, the web server) is set by its API.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

#: read by the libraries when they are imported (and by child processes, e.g. accelerate launch)
ENV = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # also transformers' loading / saving bars
    "HF_HUB_VERBOSITY": "error",  # the hub's "Retrying in 8s [Retry 5/5]" lines of a failed download
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TRL_EXPERIMENTAL_SILENCE": "1",
    "PYTHONWARNINGS": "ignore::FutureWarning,ignore::DeprecationWarning",  # child processes only
    "CYCLERESEARCHER_QUIET_READERS": "1",  # the paper read worker: pypdf's "invalid pdf header" lines
}
#: warnings raised from these packages are theirs, not ours
LIBRARIES = r"(transformers|trl|datasets|accelerate|peft|torch|huggingface_hub|tokenizers|sentence_transformers)(\.|$)"

_state = {"verbose": False}
_set_by_us: dict[str, str] = {}


def verbose() -> bool:
    """Set by the global --verbose (or CYCLERESEARCHER_VERBOSE=1)."""
    return _state["verbose"] or os.environ.get("CYCLERESEARCHER_VERBOSE", "") not in ("", "0")


def apply(want_verbose: bool) -> None:
    """Quiet the libraries, or (--verbose) undo what an earlier call in this process did."""
    _state["verbose"] = want_verbose
    loud = verbose()
    for key, value in ENV.items():
        if loud:
            if os.environ.get(key) == _set_by_us.pop(key, None):
                os.environ.pop(key, None)
        elif key not in os.environ:  # the user's own setting wins
            os.environ[key] = _set_by_us[key] = value
    _warning_filters(loud)
    _loaded_libraries(loud)


def engine_options(engine: str) -> dict:
    """Keyword arguments for an engine's constructor: llama.cpp prints its load log only when asked."""
    return {"verbose": True} if engine == "llamacpp" and verbose() else {}


_FILTERS = [(category, LIBRARIES) for category in (FutureWarning, DeprecationWarning, UserWarning)]


def _warning_filters(loud: bool) -> None:
    # drop our entries first, so repeated calls (in one process) neither stack nor stick
    warnings.filters[:] = [f for f in warnings.filters if not _ours(f)]
    mutated = getattr(warnings, "_filters_mutated", None)  # clears the per-module "seen" caches
    if mutated is not None:
        mutated()
    if not loud:
        for category, module in _FILTERS:
            warnings.filterwarnings("ignore", category=category, module=module)


def _ours(f: tuple) -> bool:
    return f[0] == "ignore" and getattr(f[3], "pattern", None) == LIBRARIES


def _loaded_libraries(loud: bool) -> None:
    from ..hfmodels import set_transformers_logging

    set_transformers_logging(loud)
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars, enable_progress_bars
        from huggingface_hub.utils import logging as hub_logging

        with warnings.catch_warnings():  # "Cannot enable progress bars": the hub read our variable
            warnings.simplefilter("ignore")  # when it was imported, and that choice stands
            enable_progress_bars() if loud else disable_progress_bars()
        hub_logging.set_verbosity_warning() if loud else hub_logging.set_verbosity_error()
    if "datasets" in sys.modules:
        import datasets

        datasets.enable_progress_bars() if loud else datasets.disable_progress_bars()
    # pypdf logs through `logging` (the read worker sets its own from the variable above)
    logging.getLogger("pypdf").setLevel(logging.NOTSET if loud else logging.ERROR)
