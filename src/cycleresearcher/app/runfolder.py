"""A run folder: its layout, its records, and the rules every use case keeps the same.

Where a command writes (``-o``), none left behind by a failed start, one process at a time in each
(``run_lock``), the resume rule, what a run was generated with. ``RunFolder`` is the object the use
cases pass around; the module functions are its rules, usable on a bare path.

A command that stops before doing any work (a bad .bib, a missing file, a bad option, a model that
does not load) removes the folder it created in this call, so a typo leaves no empty
``runs/research-...`` behind. A folder that existed before, or that holds any finished or failed
request (something ``--resume`` can use), is always kept.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, RunLockedError
from ..store import DB_NAME, check_resume, holds_work, is_run_dir, run_dirs
from .kinds import RecordKind

if TYPE_CHECKING:
    from ..paper import Paper
    from ..store import RunStore

#: held (flock) by the one process working on a run; it says who that is (pid, command, start)
LOCK_NAME = "run.lock"
#: the files a run store alone leaves: a folder holding only these (and no request) is unused
STORE_FILES = {DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal", LOCK_NAME}


def default_run_dir(command: str) -> str:
    return f"runs/{command}-{time.strftime('%Y%m%d-%H%M%S')}"


def run_dir(output_dir: str | None, command: str) -> str:
    """``-o`` checked and created, or the default ``runs/<command>-<timestamp>`` (created later)."""
    if output_dir:
        return writable_dir(output_dir)
    return default_run_dir(command)


def writable_dir(path: str | os.PathLike[str], option: str = "-o") -> str:
    """``path`` as a folder we can write into (created if missing), or InputError saying why not."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{option} {p}: is a file, not a folder. Pass a new or existing folder.")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{option} {p}: cannot create the folder ({exc.strerror or exc}). Pass a folder you can write to."
        ) from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise InputError(f"{option} {p}: the folder is not writable. Pass a folder you can write to.")
    return str(path)


@contextmanager
def new_run_dir(output_dir: str | os.PathLike[str] | None, command: str) -> Iterator[Path]:
    """The run directory of this call (``-o`` or the default), removed again if the body fails
    before any work was stored in it and this call created it (with any parents it created)."""
    path = Path(output_dir) if output_dir else Path(default_run_dir(command))
    created = [p for p in (path, *path.parents) if not p.exists()]  # deepest first
    if output_dir:
        writable_dir(path)
    try:
        yield path
    except BaseException as exc:
        if created and _failed(exc) and unused(path):
            _remove(path, created)
        raise


def _failed(exc: BaseException) -> bool:
    code = getattr(exc, "exit_code", getattr(exc, "code", 1))  # typer.Exit / SystemExit
    return code not in (0, None)


def unused(path: Path) -> bool:
    """No file but the run store, and no request or record in it."""
    if not path.is_dir():
        return not path.exists()
    if any(entry.name not in STORE_FILES for entry in path.iterdir()):
        return False
    if not (path / DB_NAME).exists():
        return True
    return holds_work(path) is False  # a store we cannot read is not ours to delete


def _remove(path: Path, created: list[Path]) -> None:
    for name in STORE_FILES:
        (path / name).unlink(missing_ok=True)
    for folder in created:  # the run folder, then each parent this call made, while empty
        try:
            folder.rmdir()
        except OSError:
            return


#: run folders this process holds: real path -> (holding thread, holder line)
_HELD: dict[str, tuple[int, str]] = {}
_HELD_LOCK = threading.Lock()


@contextmanager
def run_lock(directory: Path, command: str) -> Iterator[None]:
    """Hold the run folder for this process: a second command on the same folder (two
    ``--resume`` at once drew every sample twice, each replacing the other's papers) exits with
    a line naming the holder. The lock is an flock, so the kernel frees it when its holder dies:
    a lock file left by a killed process (a stale pid) is simply taken over.

    Re-entrant within one thread (a use case calling another on the same run holds it once: an
    flock on a second descriptor would refuse its own process); another thread of this process
    (a web job and a request) is refused like another process."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(directory)
    with _HELD_LOCK:
        held = _HELD.get(key)
    if held is not None:
        if held[0] != threading.get_ident():
            raise _locked(directory, held[1])
        yield  # this thread holds it already: the outermost holder releases it
        return
    with _flock(directory, command) as holder:
        with _HELD_LOCK:
            if key in _HELD:  # another thread of ours got it first (no flock: Windows)
                raise _locked(directory, _HELD[key][1])
            _HELD[key] = (threading.get_ident(), holder)
        try:
            yield
        finally:
            with _HELD_LOCK:
                _HELD.pop(key, None)


@contextmanager
def _flock(directory: Path, command: str) -> Iterator[str]:
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one process at a time is then up to the user
        yield f"process {os.getpid()} (cycleresearcher {command})"
        return
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _locked(directory, _holder(fd)) from None
        holder = {
            "pid": os.getpid(),
            # the command's name only, never its arguments: they may hold --api-key
            "command": f"cycleresearcher {command}",
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        yield _holder(fd)
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _locked(directory: Path, holder: str) -> RunLockedError:
    return RunLockedError(
        f"{directory} is in use by {holder}. Wait for it to finish (or stop it), then rerun; "
        "two processes on one run would do the same work twice and overwrite each other's records."
    )


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or "pid" not in info:
        return "another process (it is still starting)"
    return f"process {info['pid']} ({info.get('command', '?')}, started {info.get('started', '?')})"


#: a setting of `research generate` -> the option that sets it (the names a user typed)
SETTING_OPTIONS = {
    "n": "-n",
    "topic": "--topic",
    "mode": "--two-stage",
    "temperature": "--temperature",
    "top_p": "--top-p",
    "max_tokens": "--max-tokens",
    "seed": "--seed",
    "drop_to_fit": "--drop-to-fit",
    "constrain": "--constrain",
}


def setting_changes(
    before: dict, now: dict, options: dict[str, str], shown: Callable[[str, Any], str]
) -> dict[str, str]:
    """Each setting of ``options`` (key -> the option that sets it) that ``before`` and ``now`` both
    hold and that differs, as ``--max-tokens 800 in the run, 900 now`` (values as ``shown`` words them)."""
    return {
        key: f"{option} {shown(key, before[key])} in the run, {shown(key, now[key])} now"
        for key, option in options.items()
        if key in before and key in now and before[key] != now[key]
    }


def check_same_settings(directory: Path, earlier: dict | None, now: dict) -> None:
    """A resume continues the run it names: with other settings every request would be new (the
    samples are keyed by their settings), so the work would be redone, not continued. Refused,
    naming each setting that differs; ``--redo`` asks for the new run on purpose."""
    if not isinstance(earlier, dict):
        return
    changed = list(setting_changes(earlier, now, SETTING_OPTIONS, _shown).values())
    if changed:
        raise InputError(
            f"{directory} was generated with other settings ({'; '.join(changed)}): resuming would generate "
            "every paper again, not continue the run. Use the run's settings, choose a new -o folder, or add "
            "--redo to generate again with these (the papers there are kept as earlier versions)."
        )


def _shown(key: str, value: object) -> str:
    if key == "mode":
        return "on" if value == "two-stage" else "off"
    if value is None:
        return "not set"
    if isinstance(value, bool):  # --drop-to-fit, --constrain: as the flags say it, not Python's True
        return "on" if value else "off"
    return json.dumps(value) if isinstance(value, str) else str(value)


#: "is this a run?" (``store.is_run_dir``, usable below the app layer too)
is_run = is_run_dir


@dataclass(frozen=True)
class RunFolder:
    """One run folder: ``run.sqlite`` (every request and record), ``papers/<id>/`` (a paper's
    exports), ``reviews/`` (review exports) and ``run.lock`` (the process working on it)."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    # -- layout ---------------------------------------------------------------------------------
    def paper_dir(self, paper_id: str) -> Path:
        return self.path / "papers" / str(paper_id)

    @property
    def reviews_dir(self) -> Path:
        return self.path / "reviews"

    def exists(self) -> bool:
        return is_run(self.path)

    # -- the store and its records --------------------------------------------------------------
    def store(self, *, create: bool = True, readonly: bool = False) -> RunStore:
        from ..store import RunStore

        return RunStore(self.path, create=create, readonly=readonly)

    def record(self, kind: RecordKind, key: str) -> dict[str, Any]:
        """One stored record, or InputError naming what is missing."""
        with self.store(create=False) as store:
            data = store.get(str(kind), key)
        if data is None:
            raise InputError(f"No {kind} {key} in {self.path}.")
        return data

    def papers(self) -> list[Paper]:
        from ..paper import Paper

        with self.store(create=False) as store:
            return [Paper.from_dict({**rec, "id": rec.get("id") or key}) for key, rec in store.items("paper")]

    # -- rules ----------------------------------------------------------------------------------
    def check_resume(self, resume: bool) -> None:
        check_resume(self.path, resume)

    def lock(self, command: str):
        return run_lock(self.path, command)

    def generated_with(self) -> tuple[str | None, str | None, str | None]:
        """(model, engine, base_url) the run's papers were generated with; Nones when it names none."""
        return run_engine(self.path)


def run_engine(run: Path) -> tuple[str | None, str | None, str | None]:
    """(model, engine, base_url) of the run's first stored paper; Nones when it names none."""
    from ..errors import StoreError
    from ..store import RunStore

    try:
        with RunStore(run, create=False) as store:
            metas = [rec.get("meta") or {} for _, rec in store.items("paper")]
    except StoreError:
        return None, None, None  # the researcher opens it again and says what is wrong
    desc = next((m["engine"] for m in metas if isinstance(m.get("engine"), dict)), {})
    name = desc.get("engine") or None
    url = desc.get("base_url") if name == "openai" else None
    return desc.get("model") or None, name, url or None


def files_current(paper: Paper, run: Path, pdf: bool) -> bool:
    """paper.json on disk is the stored record, paper.md is there and (if asked) main.pdf too."""
    import shutil

    folder = RunFolder(run).paper_dir(str(paper.id))
    try:
        record = json.loads((folder / "paper.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, or cut short by the kill
        return False
    from ..paper.export.jsonfile import EXPORT_ONLY
    from ..paper.local_paths import public

    # the file is the record as exports show it (no local folder) plus what only the export adds
    if (
        not isinstance(record, dict)
        or {k: v for k, v in record.items() if k not in EXPORT_ONLY} != public(paper).to_dict()
    ):
        return False
    no_tex = shutil.which("pdflatex") is None  # no PDF can come out: a missing one is not stale
    return (folder / "paper.md").is_file() and (
        not pdf or no_tex or (folder / "latex" / "main.pdf").is_file()
    )


#: the record kinds a listing of runs counts
LISTED_KINDS = (RecordKind.PAPER, RecordKind.REVIEW, RecordKind.DETECTION, RecordKind.DOCUMENT)


def list_runs(root: Path) -> list[dict[str, Any]]:
    """The runs directly under ``root``, newest first: name, mtime, the command that made it and
    the count of each listed record kind; a store that cannot be read is listed with ``broken`` (why)."""
    from ..errors import CycleResearcherError
    from ..store import RunStore

    out: list[dict[str, Any]] = []
    for folder in run_dirs(root):
        run = {"name": folder.name, "mtime": (folder / DB_NAME).stat().st_mtime}
        try:
            with RunStore(folder, readonly=True) as store:
                counts = {k.value: len(store.items(k.value)) for k in LISTED_KINDS}
                command = store.get_meta("command", "")
        except CycleResearcherError as exc:  # a damaged store is listed as such, never stops a listing
            out.append({**run, "broken": str(exc)})
            continue
        out.append({**run, "command": command, **counts})
    return out
