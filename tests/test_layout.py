"""The tree reads as the cycle (issue 12): no import circles, no oversized module, heavy libraries in
their own modules, stages as packages, test-only code in the tests. scripts/import_report.py prints
the same facts for a reader."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "src" / "cycleresearcher"

_spec = importlib.util.spec_from_file_location("import_report", ROOT / "scripts" / "import_report.py")
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)

MODS = report.modules(PKG)
EDGES, HEAVY = report.graph(MODS)

#: who may import a heavy library; a new importer must be a decision, so it fails here first
HEAVY_OWNERS = {
    "cycleresearcher.hfmodels": {"torch", "transformers"},  # the one loader of torch models
    "cycleresearcher.engines.hf": {"torch", "transformers"},  # seeds, inference mode, logits processors
    "cycleresearcher.engines.hf_grammar": {"torch"},  # the grammar's token mask
    "cycleresearcher.engines.llamacpp": {"llama_cpp"},
    "cycleresearcher.engines.vllm": {"vllm"},
    "cycleresearcher.engines.ray_engine": {"ray", "vllm"},
    "cycleresearcher.detect.criterion": {"torch"},  # the criterion's tensor math
    "cycleresearcher.detect.scorers": {"torch", "llama_cpp"},  # scoring models (load through hfmodels)
    "cycleresearcher.train.margins": {"torch"},  # log-prob margins
    "cycleresearcher.train.simpo": {"torch", "transformers", "trl", "peft"},  # the only trl import
    "cycleresearcher.train.rounds": {"transformers"},
    "cycleresearcher.cli._noise": {"transformers"},  # quiets it only when something already loaded it
}

#: the top level holds shared pieces only; every stage is a package
TOP_LEVEL = {
    "__init__", "__main__", "errors", "store", "models", "latex", "latex_json", "markdown_text", "progress", "safejson",
    "hfmodels", "doctor", "atomic", "http_retry",
}  # fmt: skip


def test_no_import_circles():
    assert report.cycles(EDGES, list(MODS)) == []


def test_no_module_over_500_lines():
    big = {m: n for m, p in MODS.items() if (n := len(p.read_text().splitlines())) > 500}
    assert big == {}


def test_heavy_libraries_only_where_they_belong():
    extra = {m: sorted(libs - HEAVY_OWNERS.get(m, set())) for m, libs in HEAVY.items()}
    assert {m: libs for m, libs in extra.items() if libs} == {}


def test_stages_are_packages_and_test_code_lives_in_tests():
    loose = {p.stem for p in PKG.glob("*.py")}
    assert loose <= TOP_LEVEL, sorted(loose - TOP_LEVEL)
    for stage in ("references", "prompts", "engines", "research", "paper", "review", "detect", "evaluation", "train", "cli", "web"):
        assert (PKG / stage / "__init__.py").is_file(), stage
    assert not (PKG / "engines" / "fake.py").exists() and not (PKG / "detect" / "naive.py").exists()
    assert (ROOT / "tests" / "support" / "fake_engine.py").is_file()


def test_public_api_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from cycleresearcher import CycleResearcher, CycleReviewer, DeepReviewer, AIDetector, Paper\n"
        f"print(sorted(m for m in {report.HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
