"""What the installed llama.cpp library is: which CPU instructions its machine code uses, and the
process settings it needs before it loads.

A llama.cpp compiled with ``-march=native`` runs only on CPUs like the one that built it, and on
some Intel Xeons that advertise AMX its AMX kernels die with SIGILL. ``scripts/bootstrap.sh``
builds a portable library (AVX2 baseline); this module checks what a build *contains*, by
disassembling it with ``objdump``, so portability is proven by the binary and not by a green run
on one machine.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

#: AMX tile instructions (Intel AMX-TILE / -INT8 / -BF16 / -FP16)
_AMX = re.compile(r"^(tile\w*|tdp\w+|ldtilecfg|sttilecfg)$")
#: mnemonics that exist only with an EVEX (AVX-512) encoding, whatever registers they name
_EVEX_ONLY = re.compile(
    r"^(vpternlog[dq]|vperm[it]2\w+|vpcompress\w|vpexpand\w|vcompress\w+|vexpand\w+|vpmovm2\w|"
    r"vpmov\w2m|vfixupimm\w+|vgetexp\w+|vgetmant\w+|vrndscale\w+|vrange\w+|vscalef\w+|vreduce\w+|"
    r"vpbroadcastm\w+|vplzcnt[dq]|vpconflict[dq]|vpopcnt[bwdq]|valign[dq]|vpro[lr]v?[dq]|vpsraq|"
    r"vpsravq|vpmullq|vcvt\w*u[dq]q\w*|vcvtu\w+|vcvt\w*2u\w+|vpabsq|vpmaxsq|vpminsq|vpmaxuq|vpminuq|"
    r"vdbpsadbw|vpmultishiftqb|vpshldv?\w|vpshrdv?\w|vpdpbusds?|vpdpwssds?|vcvtne2ps2bf16|"
    r"vcvtneps2bf16|vdpbf16ps|kmov\w|kand\w+|kor\w+|kxor\w+|knot\w|kshift\w+|kunpck\w+|kadd\w|"
    r"ktest\w|kortest\w)$"
)
#: operands only AVX-512 can name: zmm registers, opmasks, and xmm16-31 / ymm16-31
_EVEX_OPERAND = re.compile(r"%zmm\d|%k[0-7]\b|%[xy]mm(1[6-9]|2\d|3[01])\b")
#: AVX-VNNI in its VEX form (objdump prints "{vex} vpdpbusd")
_VEX_VNNI = re.compile(r"\{vex\}\s+vpdp\w+")


#: the portable rebuild, for messages (doctor's fix, a native build's summary)
REBUILD = "rm -f .venv/.llama-cpp-build && scripts/bootstrap.sh"


class BuildCheckUnavailable(RuntimeError):
    """objdump or the library is missing: the build cannot be inspected here."""


@dataclass
class LibraryScan:
    """Instruction counts of one shared library."""

    path: str
    instructions: int = 0
    amx: int = 0
    avx512: int = 0
    avx_vnni: int = 0
    examples: list[str] = field(default_factory=list)  # a few offending lines, for the report


@dataclass
class BuildReport:
    """The llama.cpp libraries of an install and what they need from the CPU."""

    lib_dir: str
    libraries: list[LibraryScan]

    @property
    def amx(self) -> int:
        return sum(lib.amx for lib in self.libraries)

    @property
    def avx512(self) -> int:
        return sum(lib.avx512 for lib in self.libraries)

    @property
    def avx_vnni(self) -> int:
        return sum(lib.avx_vnni for lib in self.libraries)

    @property
    def portable(self) -> bool:
        """Nothing beyond the AVX2 baseline (on x86-64): no AMX, no AVX-512, no AVX-VNNI."""
        return self.amx == 0 and self.avx512 == 0 and self.avx_vnni == 0

    def summary(self) -> str:
        if self.portable:
            return "portable: nothing beyond AVX2 (no AVX-512, no AMX)"
        parts = [
            f"{n} {what}"
            for n, what in ((self.amx, "AMX"), (self.avx512, "AVX-512"), (self.avx_vnni, "AVX-VNNI"))
            if n
        ]
        return (
            f"native: {', '.join(parts)} instructions; runs only on CPUs with them, and AMX code "
            f"may crash with SIGILL. Rebuild portably: {REBUILD}"
        )


#: OpenMP spin count (iterations) before a waiting llama.cpp thread sleeps; see prepare_environment
SPIN_COUNT = "1000"


def prepare_environment() -> None:
    """Set process defaults for llama.cpp before its library loads (libgomp reads them once).

    llama.cpp synchronises its threads with an OpenMP barrier after every operation, hundreds of
    times per token. libgomp's default spins long before sleeping: fastest on an idle CPU, but on a
    CPU that other processes also use (a laptop, the web server's other jobs) the spinning threads
    take time slices from the ones doing the work (0.8 vs 12 tok/s with a short spin, measured on
    a busy 2-core Xeon). OMP_WAIT_POLICY=PASSIVE sleeps at once and costs about 4x on an idle CPU.
    A short spin stays within ~4% of the best idle speed and degrades gracefully under load
    (benchmarks/llamacpp_builds.py, docs/engines.md). A user's own OMP_WAIT_POLICY or
    GOMP_SPINCOUNT wins.
    """
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)


def library_dir() -> Path:
    """The folder of the llama.cpp shared libraries that ``import llama_cpp`` will load."""
    override = os.environ.get("LLAMA_CPP_LIB_PATH")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise BuildCheckUnavailable("llama-cpp-python is not installed (scripts/bootstrap.sh installs it)")
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def _libraries(lib_dir: Path) -> list[Path]:
    """One file per library: wheels cannot hold symlinks, so ``libggml.so``, ``libggml.so.0`` and
    ``libggml.so.0.25.3`` are three identical copies once installed."""
    seen: dict[str, Path] = {}
    for path in sorted(lib_dir.glob("lib*.so*"), key=lambda p: len(p.name)):
        if path.name.startswith(("libggml", "libllama")) and path.is_file():
            seen.setdefault(path.name.split(".so")[0], path)
    return list(seen.values())


def scan_library(path: Path, objdump: str | None = None, keep_examples: int = 3) -> LibraryScan:
    """Disassemble one library and count the instructions beyond the AVX2 baseline."""
    objdump = objdump or shutil.which("objdump")
    if objdump is None:
        raise BuildCheckUnavailable("objdump was not found: install binutils to inspect the llama.cpp build")
    proc = subprocess.Popen(
        [objdump, "-d", "--no-show-raw-insn", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        errors="replace",
    )
    scan = LibraryScan(path=str(path))
    assert proc.stdout is not None
    for line in proc.stdout:
        # instruction lines look like "   1a2b3:\tvaddps %ymm1,%ymm2,%ymm3"
        _, tab, insn = line.partition(":\t")
        if not tab:
            continue
        insn = insn.strip()
        scan.instructions += 1
        mnemonic = insn.split(None, 1)[0] if insn else ""
        if mnemonic == "{vex}":
            if _VEX_VNNI.match(insn):
                scan.avx_vnni += 1
                kind = "AVX-VNNI"
            else:
                continue
        elif _AMX.match(mnemonic):
            scan.amx += 1
            kind = "AMX"
        elif _EVEX_ONLY.match(mnemonic) or _EVEX_OPERAND.search(insn):
            scan.avx512 += 1
            kind = "AVX-512"
        else:
            continue
        if len(scan.examples) < keep_examples:
            scan.examples.append(f"{kind}: {insn}")
    if proc.wait() != 0:
        raise BuildCheckUnavailable(f"objdump could not read {path}")
    return scan


def scan_build(lib_dir: Path | None = None) -> BuildReport:
    """Scan every ``libggml*`` / ``libllama*`` library of the installed llama.cpp."""
    lib_dir = lib_dir or library_dir()
    libs = _libraries(lib_dir)
    if not libs:
        raise BuildCheckUnavailable(f"no libggml*/libllama* libraries in {lib_dir}")
    return BuildReport(lib_dir=str(lib_dir), libraries=[scan_library(p) for p in libs])
