"""One exception tree with a single root; every message says what to do next."""

from __future__ import annotations


class CycleResearcherError(Exception):
    """Root of every error this package raises on purpose."""


class InputError(CycleResearcherError, ValueError):
    """Bad user input (a file, a flag, a config value). The message names the file/line and the fix."""


class ReferencesError(InputError):
    """A references file could not be read (not BibTeX, unbalanced braces, no entries, ...)."""


class ContextLengthError(InputError):
    """A prompt does not fit the model's context window."""


class PromptTooLongError(ContextLengthError):
    """The references' prompt does not fit the context. Its ways out are settings, which each shell
    names in its own terms (``worded``: the page its form fields); ``str()`` names the CLI's."""

    #: the ways out as the CLI names them
    CLI_WORDS = {
        "drop_to_fit": "Use --drop-to-fit to drop the least relevant references",
        "max_tokens": "lower --max-tokens",
    }

    def __init__(self, head: str, room: int | None = None):
        self.head = head  # what does not fit, with the counts
        #: the most new tokens that leave room for the whole prompt, when the user chose more
        self.room = room
        super().__init__(self.worded(self.CLI_WORDS))

    def worded(self, words: dict[str, str]) -> str:
        """The message with the ways out named by ``words`` (keys ``drop_to_fit``, ``max_tokens``);
        lowering max new tokens first where that alone makes room."""
        drop, lower = words["drop_to_fit"], words["max_tokens"]
        if self.room is not None:
            first = lower[0].upper() + lower[1:]
            return f"{self.head} {first} to at most {self.room}, {drop[0].lower()}{drop[1:]}, or give fewer references."
        return f"{self.head} {drop}, give fewer references, or {lower}."


class MissingDependencyError(CycleResearcherError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, what: str = ""):
        self.package = package
        self.extra = extra
        detail = f" (needed for {what})" if what else ""
        super().__init__(
            f"The package '{package}' is not installed{detail}. "
            f"Install the '{extra}' extra: pip install 'cycleresearcher[{extra}]'"
        )


class EngineError(CycleResearcherError, RuntimeError):
    """An inference engine failed to load or to answer."""


class ModelNotFoundError(EngineError):
    """A model id/path could not be resolved to something an engine can load."""


class StoreError(CycleResearcherError, RuntimeError):
    """The SQLite run store is unusable (wrong schema, locked, not a run directory)."""


class DiskFullError(StoreError, OSError):
    """No space left on the disk: nothing half-written was kept; the message says what to free."""


class RunLockedError(StoreError):
    """Another process is working on the same run folder; the message names it."""


class ParseError(CycleResearcherError, ValueError):
    """Reserved for strict parsing APIs; the default parsers return partial records with warnings."""


class ConfigError(InputError):
    """A configuration file (e.g. the training TOML) is invalid."""


def require(module: str, extra: str, what: str = ""):
    """Import an optional heavy dependency or raise MissingDependencyError naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(module.split(".")[0], extra, what) from exc
