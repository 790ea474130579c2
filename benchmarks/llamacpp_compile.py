"""Claim: what the llama-cpp-python compile costs, part by part, and what scripts/bootstrap.sh saves
by not compiling llama.cpp's `common` library (the package's CMakeLists FORCEs it ON; the Python
package never loads it and the wheel does not ship it).

Two builds of the same sdist, with the portable flags read from scripts/bootstrap.sh:
  1. "trimmed": the sdist patched as bootstrap.sh patches it, built by `pip wheel` exactly as
     bootstrap.sh builds it (build env, configure, compile, link, wheel);
  2. "removed": the unpatched sdist configured with the same flags, and only the object files that
     the patch leaves out (common/ and vendor/cpp-httplib/) compiled.
The upstream (full) build costs trimmed + removed. CPU-seconds (user + sys of every child) do not
depend on other load; wall time does, so the load average is recorded too. Per-part shares come
from ninja's .ninja_log (per-object wall time, -j jobs).

    .venv/bin/python benchmarks/llamacpp_compile.py            # about 8 CPU-minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from _common import cpu_model, write

ROOT = Path(__file__).resolve().parent.parent
VERSION = "0.3.36"
COMMON_ON = 'set(LLAMA_BUILD_COMMON ON CACHE BOOL "Build llama.cpp common library" FORCE)'
REMOVED = ("vendor/llama.cpp/common/", "vendor/llama.cpp/vendor/cpp-httplib/")


def portable_cmake_args() -> str:
    """The x86-64 portable flags as scripts/bootstrap.sh sets them (one source of truth)."""
    text = (ROOT / "scripts" / "bootstrap.sh").read_text()
    flags = re.search(r'x86_64 \| amd64\)\s*cmake_args="([^"]+)"', text)
    if flags is None:
        sys.exit("scripts/bootstrap.sh: the portable x86-64 cmake_args line was not found")
    return flags.group(1) + " -DLLAVA_BUILD=OFF"


def timed(cmd: list[str], **kw) -> dict:
    """Run cmd; CPU-seconds of its whole process tree (user + sys), wall seconds, load average."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load0, t0 = os.getloadavg()[0], time.perf_counter()
    subprocess.run(cmd, check=True, **kw)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "cpu_s": round(cpu, 1),
        "wall_s": round(wall, 1),
        "load_start": load0,
        "load_end": os.getloadavg()[0],
    }


def part(path: str) -> str:
    for prefix, name in (
        ("vendor/llama.cpp/ggml/src/CMakeFiles/ggml-cpu.dir/", "ggml-cpu"),
        ("vendor/llama.cpp/ggml/", "ggml-base"),
        ("vendor/llama.cpp/src/", "llama"),
        ("vendor/llama.cpp/common/", "common (removed)"),
        ("vendor/llama.cpp/vendor/cpp-httplib/", "cpp-httplib (removed)"),
        ("vendor/llama.cpp/vendor/", "vendor (hash)"),
    ):
        if path.startswith(prefix):
            return name
    return "other"


def ninja_parts(build: Path) -> dict[str, dict]:
    """Per-part object count and summed per-object wall seconds from .ninja_log."""
    out: dict[str, dict] = {}
    for line in (build / ".ninja_log").read_text().splitlines()[1:]:
        start, end, _, target, _ = line.split("\t")
        if not target.endswith(".o"):
            continue
        row = out.setdefault(part(target), {"objects": 0, "wall_s": 0.0})
        row["objects"] += 1
        row["wall_s"] = round(row["wall_s"] + (int(end) - int(start)) / 1000, 1)
    return out


def unpack(sdist: Path, into: Path) -> Path:
    with tarfile.open(sdist) as tar:
        tar.extractall(into, filter="data")
    return into / f"llama_cpp_python-{VERSION}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--rest-s", type=float, default=46.0, help="install + generation after the compile")
    ap.add_argument("--name", default="llamacpp_compile")
    ap.add_argument(
        "--measured", type=Path, help="a JSON of the two builds measured by hand: only write the table"
    )
    args = ap.parse_args()
    if args.measured:
        report(json.loads(args.measured.read_text()), args.name)
        return
    flags = portable_cmake_args()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    env = {**os.environ, "CMAKE_ARGS": flags, "CMAKE_BUILD_PARALLEL_LEVEL": str(args.jobs)}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        subprocess.run(
            [
                *pip,
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                str(tmp),
                f"llama-cpp-python=={VERSION}",
            ],
            check=True,
        )
        sdist = tmp / f"llama_cpp_python-{VERSION}.tar.gz"
        trimmed_tree = unpack(sdist, tmp / "trimmed")
        cml = trimmed_tree / "CMakeLists.txt"
        text = cml.read_text()
        assert f"    {COMMON_ON}\n" in text, (
            "the sdist no longer FORCEs common ON: recheck bootstrap.sh's patch"
        )
        cml.write_text(text.replace(COMMON_ON, COMMON_ON.replace(" ON ", " OFF ", 1)))
        trimmed = timed(
            [
                *pip,
                "wheel",
                "-q",
                "--no-deps",
                "--no-cache-dir",
                f"--config-settings=build-dir={tmp}/build-trim",
                "-w",
                str(tmp / "wheels"),
                str(trimmed_tree),
            ],
            env=env,
        )
        trimmed["parts"] = ninja_parts(tmp / "build-trim")

        full_tree = unpack(sdist, tmp / "full")
        build = tmp / "build-full"
        configure = [
            "cmake",
            "-G",
            "Ninja",
            "-S",
            str(full_tree),
            "-B",
            str(build),
            "-DCMAKE_BUILD_TYPE=Release",
        ]
        subprocess.run([*configure, *flags.split()], check=True, stdout=subprocess.DEVNULL)
        listing = subprocess.run(
            ["ninja", "-C", str(build), "-t", "targets", "all"], check=True, capture_output=True, text=True
        ).stdout
        objects = [t.split(":")[0] for t in listing.splitlines() if t.split(":")[0].endswith(".o")]
        removed_objs = [o for o in objects if o.startswith(REMOVED)]
        removed = timed(
            ["ninja", "-C", str(build), f"-j{args.jobs}", *removed_objs], stdout=subprocess.DEVNULL
        )
        removed["parts"] = ninja_parts(build)
        removed["objects_full_build"] = len(objects)
    report(
        {
            "trimmed": trimmed,
            "removed": removed,
            "jobs": args.jobs,
            "rest_s": args.rest_s,
            "cmake_args": flags,
        },
        args.name,
    )


def report(data: dict, name: str) -> None:
    """Write the table; data holds 'trimmed' (the pip wheel build) and 'removed' (common + httplib)."""
    t, r, jobs, rest = data["trimmed"], data["removed"], data["jobs"], data["rest_s"]
    before = t["cpu_s"] + r["cpu_s"]
    ratio = t["cpu_s"] / before
    # a removed part stopped before its end (a deadline) gives only a lower bound of what it saves
    partial = r.get("objects_compiled", 0) < r.get("objects_to_compile", 0)
    ge, le = ("≥ ", "≤ ") if partial else ("", "")
    lines = [
        "# llama-cpp-python 0.3.36 compile: what each part costs, and the build without `common`",
        "",
        f"CPU: {cpu_model()}, {os.cpu_count()} cores, shared (load average in the table). Portable flags of",
        f"scripts/bootstrap.sh, ninja `-j{jobs}`. CPU-seconds are user + sys of the whole process tree",
        "(load-independent); wall time is not (other work shared the cores).",
        *([f"How this run was taken: {data['note']}"] if data.get("note") else []),
        "",
        "| build | CPU-seconds | wall s | load avg (start → end) |",
        "|---|---:|---:|---|",
        f"| upstream (common FORCEd ON) = trimmed + removed | {ge}{before:.0f} | (ran side by side) | |",
        f"| trimmed: `pip wheel` of the patched sdist (bootstrap.sh) | {t['cpu_s']:.0f} | {t['wall_s']:.0f} "
        f"| {t['load_start']:.1f} → {t['load_end']:.1f} |",
        f"| removed: common + cpp-httplib objects only{' (stopped early)' if partial else ''} | {ge}{r['cpu_s']:.0f} | {r['wall_s']:.0f} "
        f"| {r['load_start']:.1f} → {r['load_end']:.1f} |",
        "",
        f"- trimmed / upstream CPU-seconds: **{le}{ratio:.2f}** ({ge}{100 * (1 - ratio):.0f}% less compile)",
        *(
            [
                f"- the removed part was stopped after {r['objects_compiled']} of its {r['objects_to_compile']} "
                "objects (CPU-seconds include the unfinished ones): its full cost is higher"
            ]
            if partial
            else []
        ),
        "",
        "Per part (ninja's per-object wall seconds under this load, summed; shares are what matter):",
        "",
        "| part | objects | summed object wall s | share of what was compiled |",
        "|---|---:|---:|---:|",
    ]
    parts = {**t["parts"], **{k: v for k, v in r["parts"].items() if "removed" in k}}
    total = sum(p["wall_s"] for p in parts.values()) or 1.0
    for k, p in sorted(parts.items(), key=lambda kv: -kv[1]["wall_s"]):
        lines.append(f"| {k} | {p['objects']} | {p['wall_s']:.0f} | {100 * p['wall_s'] / total:.0f}% |")
    # issue 28's AMD EPYC: 1,007 CPU-seconds for the whole upstream bootstrap (compile, pip installs,
    # doctor); what this run removed is at least r["cpu_s"] of it
    estimate = {"amd_epyc_issue_cpu_s": 1007.0, "amd_epyc_trimmed_cpu_s_at_most": round(1007.0 - r["cpu_s"])}
    estimate["amd_epyc_first_paper_idle_2_cores_s_at_most"] = round((1007.0 - r["cpu_s"]) / 2 + rest)
    estimate["this_run_first_paper_idle_2_cores_s"] = round(t["cpu_s"] / 2 + rest)
    lines += [
        "",
        "First paper on 2 idle cores ≈ compile CPU-seconds / 2 + install and generation "
        f"({rest:.0f} s, measured in issue 28):",
        "",
        f"- this run ({cpu_model()}): {t['cpu_s']:.0f} / 2 + {rest:.0f} ≈ "
        f"**{estimate['this_run_first_paper_idle_2_cores_s']} s** (5 minutes = 300 s)",
        f"- issue 28's AMD EPYC, 1,007 CPU-seconds for the whole upstream bootstrap: minus the "
        f"{ge}{r['cpu_s']:.0f} CPU-seconds removed here, at most {estimate['amd_epyc_trimmed_cpu_s_at_most']} "
        f"→ at most {estimate['amd_epyc_first_paper_idle_2_cores_s_at_most']} s; that bound counts the "
        "unfinished part of common and the pip installs as compile split over 2 cores",
    ]
    data = {**data, "upstream_cpu_s": round(before, 1), "trimmed_over_upstream": round(ratio, 3), **estimate}
    write(name, data, lines)


if __name__ == "__main__":
    main()
