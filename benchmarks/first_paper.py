"""Claim: on a fresh machine, the README's first command takes a new user from a fresh clone to a
compiled PDF of a paper in under 5 minutes on 2 idle cores, with an empty pip cache (llama-cpp-python
compiled from source, every other package downloaded).

    python3 benchmarks/first_paper.py            # clones this repository's HEAD into a temp folder

Times the two halves of the command (bootstrap; research generate) and checks that a PDF exists.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import cpu_model, write  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [
    ["scripts/bootstrap.sh"],
    [
        ".venv/bin/cycleresearcher",
        "research",
        "generate",
        "examples/references.bib",
        "-n",
        "1",
        "-o",
        "runs/demo",
    ],  # fmt: skip
]


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="cr-first-paper-"))
    clone = work / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {**os.environ, "PIP_CACHE_DIR": str(work / "pip-cache")}  # empty: nothing built before
    env.pop("VIRTUAL_ENV", None)
    load_before = os.getloadavg()[0]
    times, cpu = [], []
    for step in COMMAND:
        t0 = time.perf_counter()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(step, cwd=clone, env=env, capture_output=True, text=True)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(time.perf_counter() - t0)
        # user + sys of the whole process tree: the load-independent figure
        cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        if proc.returncode != 0:
            raise SystemExit(
                f"{' '.join(step)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
    pdfs = sorted((clone / "runs/demo/papers").glob("*/latex/*.pdf"))
    papers = sorted((clone / "runs/demo/papers").glob("*/paper.json"))
    total = sum(times)
    lines = [
        "# Time to the first paper (fresh clone, empty pip cache)",
        "",
        f"CPU: {cpu_model()}, {os.cpu_count()} cores; {platform.platform()}; load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after (1-minute; 0 = idle machine)",
        "",
        "| step | wall s | CPU-seconds |",
        "|---|---:|---:|",
        f"| `scripts/bootstrap.sh` (venv, compile llama-cpp-python, install, doctor) | {times[0]:.0f} | {cpu[0]:.0f} |",
        f"| `research generate examples/references.bib -n 1` (embedded model, PDF) | {times[1]:.0f} | {cpu[1]:.0f} |",
        f"| **total** | **{total:.0f}** ({total / 60:.1f} min; goal 5 min) | {sum(cpu):.0f} |",
        "",
        f"- papers written: {len(papers)}; PDFs compiled: {len(pdfs)}"
        + ("" if shutil.which("pdflatex") else " (no pdflatex on this machine: no PDF expected)"),
    ]
    write(
        "first_paper",
        {
            "cpu": cpu_model(),
            "bootstrap_s": times[0],
            "generate_s": times[1],
            "total_s": total,
            "cpu_seconds": {"bootstrap": cpu[0], "generate": cpu[1]},
            "load_average_before_after": [load_before, os.getloadavg()[0]],
            "papers": len(papers),
            "pdfs": len(pdfs),
            "paper_title": json.loads(papers[0].read_text()).get("title") if papers else None,
        },
        lines,
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
