"""Compiling main.tex to PDF (pdflatex, BibTeX, pdflatex until the labels settle), sandboxed as
far as TeX allows: a temporary directory (always removed), ``-no-shell-escape``,
``openin_any=p`` / ``openout_any=p`` (no absolute paths, no ``..``), stdin closed, a CPU limit
and a timeout after which every TeX process is killed."""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

COMPILE_TIMEOUT_S = 180


def compile_pdf(
    source: str,
    bibtex: str | None,
    timeout: float = COMPILE_TIMEOUT_S,
    assets: list[Path] | None = None,
    stop_early: Callable[[str], bool] | None = None,
) -> tuple[bytes | None, str, bool]:
    """Compile in a fresh temp dir that is always removed; return (PDF bytes or None, log text,
    whether the compile timed out). ``assets`` (our figure files) are copied to ``figures/`` there,
    where main.tex includes them. ``timeout`` bounds all passes together. When ``stop_early``
    says yes to the first pass's log (the source is to be compiled again, rescued), the BibTeX
    and later passes are not run."""
    work = Path(tempfile.mkdtemp(prefix="cr-latex-"))
    try:
        (work / "main.tex").write_text(source, encoding="utf-8")
        for asset in assets or []:
            (work / "figures").mkdir(exist_ok=True)
            shutil.copyfile(asset, work / "figures" / asset.name)
        if bibtex:
            (work / "references.bib").write_text(bibtex, encoding="utf-8")
        # long log lines unwrapped (kpathsea reads these from the environment): a warning naming a
        # long citation key stays on one line for log_problems
        env = {
            **os.environ, "openin_any": "p", "openout_any": "p", "shell_escape": "f", "max_print_line": "10000",
        }  # fmt: skip
        output, bib_errors, timed_out = _passes(
            work, env, time.monotonic() + timeout, bool(bibtex), timeout, stop_early
        )
        log_file = work / "main.log"
        log = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
        if bib_errors:  # BibTeX's own errors are in no TeX log: they go after it, as TeX errors read
            log = f"{log}\n" + "\n".join(f"! BibTeX: {e}" for e in bib_errors)
        if timed_out:  # the note goes last: the log excerpt shown to the user is the tail
            log = f"{log}\n{output.strip()}".strip()
        elif not log:
            log = output
        pdf = work / "main.pdf"
        data = pdf.read_bytes() if not timed_out and pdf.exists() and pdf.stat().st_size > 0 else None
        return data, log, timed_out
    finally:
        shutil.rmtree(work, ignore_errors=True)


#: pdflatex passes after the first: two after BibTeX (citations, then their page numbers), and up
#: to two more while the log asks for a rerun
_MAX_PASSES = 5
_RERUN = re.compile(r"Rerun to get|Label\(s\) may have changed")
_PDFLATEX = ["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", "main.tex"]


def _passes(
    work: Path,
    env: dict[str, str],
    deadline: float,
    has_bib: bool,
    timeout: float,
    stop_early: Callable[[str], bool] | None = None,
) -> tuple[str, list[str], bool]:
    """pdflatex, BibTeX, then pdflatex until the labels settle; (output, BibTeX errors, timed out).

    The passes are run here rather than by latexmk: after one TeX error latexmk stops before its
    last pass (BibTeX ran, the citations it wrote never typeset: ``[?]`` everywhere), while a PDF
    of model text must always get every pass; the log of the last one says what is still wrong."""
    outputs: list[str] = []
    bib_errors: list[str] = []

    def run(cmd: list[str]) -> bool:
        left = deadline - time.monotonic()
        if left <= 0:
            outputs.append(f"the compile timed out after {timeout:g} s; it was stopped")
            return False
        out, timed_out = _run_tex(cmd, work, env, left)
        outputs.append(out)
        return not timed_out

    if not run(_PDFLATEX):
        return "\n".join(outputs), bib_errors, True
    if stop_early is not None and stop_early(_read(work / "main.log")):
        return "\n".join(outputs), bib_errors, False
    passes = 1
    aux = work / "main.aux"
    if has_bib and aux.exists() and "\\bibdata" in aux.read_text(encoding="utf-8", errors="replace"):
        if not run(["bibtex", "main"]):
            return "\n".join(outputs), bib_errors, True
        bib_errors = _bibtex_errors(work / "main.blg")
        if not run(_PDFLATEX):
            return "\n".join(outputs), bib_errors, True
        passes += 1
    while passes < _MAX_PASSES and _RERUN.search(_read(work / "main.log")):
        if not run(_PDFLATEX):
            return "\n".join(outputs), bib_errors, True
        passes += 1
    return "\n".join(outputs), bib_errors, False


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _bibtex_errors(blg: Path) -> list[str]:
    """BibTeX's errors (not its warnings) from its ``.blg``: the lines before ``---line N of file``."""
    lines = _read(blg).splitlines()
    return [lines[i - 1].strip() for i, ln in enumerate(lines) if i and ln.startswith("---line ")][:10]


# -- running TeX: a process group that never outlives the compile ---------------------------------
#
# A TeX run may start children of its own, so killing the first process alone can leave a looping
# pdflatex (``\def\x{\x}\x``) re-parented to init. Each compile therefore runs in a new session
# (process group) led by a tiny watchdog that (1) caps every TeX process's CPU time, which is
# inherited across fork/exec, (2) kills the group when the Python parent disappears, even by
# SIGKILL (it polls getppid; portable, unlike PR_SET_PDEATHSIG, which would not reach pdflatex
# anyway) and (3) kills stragglers when the run ends. The parent kills the whole group on timeout,
# on any exception (KeyboardInterrupt included) and at interpreter exit.

_WATCHDOG = r"""
import os, shutil, signal, subprocess, sys, time
parent, cpu, work, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
try:
    import resource
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
except (ImportError, ValueError, OSError):
    pass
child = None
def stop(*_):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.killpg(0, signal.SIGTERM)
    deadline = time.monotonic() + 2
    while child is not None and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if os.getppid() != parent and os.path.basename(work).startswith("cr-latex-"):
        # nobody else is left to remove the folder: a child moved out of the group does, once
        # the SIGKILL below has stopped every writer
        pid = os.fork()
        if pid == 0:
            for _ in range(150):
                shutil.rmtree(work, ignore_errors=True)
                if not os.path.exists(work):
                    break
                time.sleep(0.2)
            os._exit(0)
        os.setpgid(pid, pid)  # done here, not in the child, so it is out before the SIGKILL
    os.killpg(0, signal.SIGKILL)  # the rest of the group, this process included
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
if os.getppid() != parent:
    stop()
child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
while True:
    try:
        rc = child.wait(timeout=0.2)
        break
    except subprocess.TimeoutExpired:
        if os.getppid() != parent:
            stop()
if os.getppid() != parent:  # the run may end on its own then (SIGPIPE on the parent's pipe)
    stop()
signal.signal(signal.SIGTERM, signal.SIG_IGN)
os.killpg(0, signal.SIGTERM)  # anything the run left behind
sys.exit(rc)
"""

#: process groups of compiles in progress, killed at interpreter exit (a daemon thread's compile)
_LIVE_GROUPS: set[int] = set()
_KILL_GRACE_S = 3.0


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGTERM the compile's process group, then SIGKILL it. The leader is not reaped until this
    returns, so its pid (= the group id) cannot have been reused by an unrelated process."""
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + _KILL_GRACE_S
    while hasattr(os, "waitid") and time.monotonic() < deadline:
        try:  # WNOWAIT: see whether the leader ended without reaping it
            if os.waitid(os.P_PID, pgid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                break
        except ChildProcessError:
            break
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _kill_live_groups() -> None:
    for pgid in list(_LIVE_GROUPS):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


atexit.register(_kill_live_groups)


def _run_tex(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[str, bool]:
    """Run ``cmd`` (one TeX pass or BibTeX) in ``cwd``; return (its output, whether it timed out)."""
    if os.name != "posix":  # no process groups: the plain timeout is all there is
        try:
            proc = subprocess.run(
                cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                errors="replace", timeout=timeout,
            )  # fmt: skip
            return proc.stdout + proc.stderr, False
        except subprocess.TimeoutExpired:
            return f"{cmd[0]} timed out after {timeout:g} s", True
    cpu = max(1, math.ceil(timeout)) + 1
    watchdog = [sys.executable, "-I", "-c", _WATCHDOG, str(os.getpid()), str(cpu), str(cwd), *cmd]
    proc = subprocess.Popen(
        watchdog, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
    )  # fmt: skip
    _LIVE_GROUPS.add(proc.pid)
    try:
        try:
            out, _ = proc.communicate(timeout=timeout)
            return out or "", False
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, _ = proc.communicate()
            return f"{out or ''}\n{cmd[0]} timed out; the compile was stopped", True
        except BaseException:
            _kill_group(proc)
            proc.wait()
            raise
    finally:
        _LIVE_GROUPS.discard(proc.pid)


#: how far after a ``!`` line TeX's ``l.NN`` context line may come
_CONTEXT_LINES = 8


def log_errors(log: str) -> list[str]:
    """The TeX errors of a log: each ``!`` line with its context up to the ``l.NN`` line that says
    where in main.tex it is (two lines when there is none), at most 60 lines."""
    lines = log.splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("!"):
            end = next(
                (j for j in range(i + 1, min(i + 1 + _CONTEXT_LINES, len(lines))) if lines[j].startswith("l.")),
                i + 2,
            )
            out += lines[i : end + 1]
    return out[:60]


_UNDEFINED = re.compile(
    r"(?:LaTeX|Package natbib) Warning: (Citation|Reference) [`']([^']*)' on page \S+ undefined"
)


def log_problems(log: str) -> list[str]:
    """What makes a PDF wrong, one line each, in log order: every TeX error (its ``!`` line) and
    every citation or reference the last pass left undefined (printed ``[?]`` / ``??``)."""
    problems: list[str] = []
    for line in log.splitlines():
        if line.startswith("!"):
            problems.append(line.lstrip("! ").strip()[:200])
    undefined: dict[str, list[str]] = {"Citation": [], "Reference": []}
    for kind, key in _UNDEFINED.findall(log):
        if key not in undefined[kind]:
            undefined[kind].append(key)
    for kind, keys in undefined.items():
        if keys:
            shown = ", ".join(keys[:5]) + (" ..." if len(keys) > 5 else "")
            problems.append(f"{len(keys)} undefined {kind.lower()}(s): {shown}")
    return problems


__all__ = ["COMPILE_TIMEOUT_S", "compile_pdf", "log_errors", "log_problems"]
