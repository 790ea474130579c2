"""The tree reads as the cycle (issue 12): no import circles, no oversized module, heavy libraries in
their own modules, stages as packages, test-only code in the tests; the shells (cli/, web/) are thin
over one application layer (app/, issue 25). scripts/import_report.py prints the same facts for a
reader."""

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
    "cycleresearcher.hfmodels": {"torch", "transformers"},  # the one loader; the small tensor helpers
    "cycleresearcher.engines.hf": {"transformers"},  # logits processors (torch through hfmodels)
    "cycleresearcher.engines.llamacpp": {"llama_cpp"},  # also loads the detector's GGUF scorer
    "cycleresearcher.engines.vllm": {"vllm"},
    "cycleresearcher.engines.ray_engine": {"ray", "vllm"},
    "cycleresearcher.detect.criterion": {"torch"},  # the detector's tensor math and forward passes
    "cycleresearcher.train.simpo": {"transformers", "trl", "peft"},  # the only trl import (torch through hfmodels)
}

#: the top level holds shared pieces only; every stage is a package
TOP_LEVEL = {
    "__init__", "__main__", "errors", "store", "models", "latex", "latex_json", "markdown_text", "progress", "safejson",
    "hfmodels", "doctor", "atomic", "http_retry",
}  # fmt: skip


#: every package of the tree: the stages, the application layer over them and the two shells
STAGES = (
    "references", "scholarly", "prompts", "engines", "research", "paper", "review", "detect", "novelty",
    "evaluation", "train", "app", "cli", "web",
)  # fmt: skip

#: shell modules whose long functions were still being moved into app/ (issue 25): empty since the
#: use-case branches merged; never add to it (move the logic out instead)
SHELL_FUNCTION_ALLOWLIST: set[str] = set()

#: what the application layer may not import: the shells' own libraries (it is called by both)
SHELL_LIBRARIES = {"typer", "click", "rich", "fastapi", "starlette", "jinja2", "markupsafe", "uvicorn"}


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
    for stage in STAGES:
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


def test_no_shell_function_over_60_lines():
    """cli/ and web/ map arguments and render results; a long function there is a use case (or a
    stage's logic) that belongs in app/ or its stage."""
    long = [(n, f) for n, f in report.long_functions(MODS) if f.split(":")[0] not in SHELL_FUNCTION_ALLOWLIST]
    assert long == [], f"over {report.SHELL_FUNCTION_LINES} lines (move the logic to app/ or its stage)"


def test_the_shell_allowlist_only_names_modules_still_too_long():
    still = {f.split(":")[0] for _, f in report.long_functions(MODS)}
    assert still >= SHELL_FUNCTION_ALLOWLIST, f"slimmed now, take off the allowlist: {SHELL_FUNCTION_ALLOWLIST - still}"


def test_app_layer_imports_no_shell():
    """app/ is called by both shells: it imports neither of them nor their libraries (typer, rich,
    fastapi, ...), and no heavy library either (it reaches those through the stages)."""
    app = report.in_package(MODS, "app")
    assert app, "no application layer"
    shells = {m for s in report.SHELLS for m in report.in_package(MODS, s)}
    assert {m: sorted(EDGES[m] & shells) for m in app if EDGES.get(m, set()) & shells} == {}
    libs = report.libraries(MODS)
    banned = SHELL_LIBRARIES | set(report.HEAVY)
    assert {m: sorted(libs[m] & banned) for m in app if libs[m] & banned} == {}
    assert not any(HEAVY.get(m) for m in app)


def test_only_the_shells_import_the_cli_and_web_frameworks():
    """A stage works without the web extra and outside a typer app (a paper's HTML, for one, is a
    paper export: it returns safe HTML as text, and the page marks it safe)."""
    frameworks = SHELL_LIBRARIES - {"rich"}  # rich draws the progress line and the tables of stages too
    shells = {m for s in report.SHELLS for m in report.in_package(MODS, s)}
    libs = report.libraries(MODS)
    assert {m: sorted(libs[m] & frameworks) for m in MODS if m not in shells and libs[m] & frameworks} == {}


def test_the_import_checks_see_what_they_check(tmp_path):
    """The layout checks are only as good as the parse: a planted long shell function, an app
    module importing typer and the CLI are each found."""
    pkg = tmp_path / "cycleresearcher"
    for folder in ("app", "cli"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    body = "\n".join(f"    x{i} = {i}" for i in range(61))
    (pkg / "cli" / "big.py").write_text(f"def register(app):\n    def inner():\n        pass\n{body}\n")
    (pkg / "app" / "bad.py").write_text("import typer\nfrom ..cli import big\n")
    mods = report.modules(pkg)
    assert [f for _, f in report.long_functions(mods)] == ["cycleresearcher.cli.big:register"]
    assert report.libraries(mods)["cycleresearcher.app.bad"] == {"typer"}
    assert "cycleresearcher.cli.big" in report.graph(mods)[0]["cycleresearcher.app.bad"]
