"""One meaning per flag: every short flag of the real CLI has one long name across commands, the
README table says the same, old long names still parse (hidden), old short flags are gone, and
``--version`` / the global flags work."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from support.cli_walk import ROOT, hidden_aliases, leaves, long_name, names, options, short_names, walk


def _short_flags() -> dict[str, set[tuple[str, bool]]]:
    """``{"-o": {("--out", False)}, ...}``: each short flag's (long name, is a flag) per use."""
    meanings: dict[str, set[tuple[str, bool]]] = defaultdict(set)
    for _, cmd in walk():
        for opt in options(cmd):
            for short in short_names(opt):
                meanings[short].add((long_name(opt), bool(opt.is_flag)))
    return meanings


def _uses(short: str) -> list[str]:
    return [
        f"{' '.join(p) or '<root>'}: {long_name(o)} ({o.help})"
        for p, c in walk()
        for o in options(c)
        if short in short_names(o)
    ]


def test_every_short_flag_has_one_meaning():
    for short, meanings in _short_flags().items():
        assert len(meanings) == 1, f"{short} means {len(meanings)} things: " + "; ".join(_uses(short))


def test_every_option_has_a_long_name():
    for path, cmd in walk():
        for opt in options(cmd):
            assert any(n.startswith("--") for n in opt.opts), f"{' '.join(path)}: {opt.opts} has no long name"


def test_every_command_that_names_a_server_takes_its_key():
    """A command with ``--base-url`` (or ``--judge-base-url``) takes ``--api-key`` too, so a key
    can be given the same way wherever a server can."""
    for path, cmd in walk():
        longs = {long_name(o) for o in options(cmd)}
        if {"--base-url", "--judge-base-url"} & longs:
            assert "--api-key" in longs, f"{' '.join(path)} takes a server URL but no --api-key"


def _readme_table() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Options", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `(-\w)` \| `(--[\w-]+)` \|", section, flags=re.M))


def test_readme_lists_every_short_flag_with_its_long_name():
    cli = {short: next(iter(m))[0] for short, m in _short_flags().items()}
    assert _readme_table() == cli


def test_the_scheme():
    """The choices themselves (README "Options"), so a change is a decision, not an accident."""
    cli = {short: next(iter(m))[0] for short, m in _short_flags().items()}
    assert cli == {
        "-o": "--out",
        "-n": "--samples",
        "-m": "--model",
        "-e": "--engine",
        "-r": "--reviewer",
        "-f": "--format",
        "-p": "--port",
        "-v": "--verbose",
    }


KEPT = {
    ("research", "generate"): {"--n": "--samples", "--output-dir": "--out"},
    ("review", "run"): {"--output-dir": "--out"},
    ("review", "parse"): {"--format": "--reviewer"},
    ("paper", "export"): {"--output-dir": "--out"},
    ("detect", "calibrate"): {"--output": "--out"},
    ("evaluate", "papers"): {"--output-dir": "--out"},
    ("evaluate", "reviewers"): {"--output-dir": "--out"},
    ("evaluate", "detection"): {"--output-dir": "--out"},
    ("evaluate", "winrate"): {"--output-dir": "--out"},
    ("train",): {"--output-dir": "--out"},
}


def test_hidden_aliases_are_the_old_names_and_point_at_real_options():
    found = {p: hidden_aliases(c) for p, c in leaves() if hidden_aliases(c)}
    assert found == KEPT
    for path, cmd in leaves():
        visible = {n for o in options(cmd) for n in names(o)}
        for old, new in hidden_aliases(cmd).items():
            assert old not in visible, f"{' '.join(path)}: alias {old} shadows a visible option"
            assert new in visible, f"{' '.join(path)}: alias {old} points at {new}, not an option"


def _parsed(args: list[str]) -> dict:
    """The parameters the real command receives for ``args`` (parsed, not run)."""
    commands = dict(leaves())
    path = next(p for p in sorted(commands, key=len, reverse=True) if tuple(args[: len(p)]) == p)
    return commands[path].make_context(" ".join(path), args[len(path) :]).params


def test_old_long_names_still_parse(tmp_path):
    bib = ROOT / "examples" / "references.bib"
    old = _parsed(["research", "generate", str(bib), "--n", "3", "--output-dir", str(tmp_path / "a")])
    new = _parsed(["research", "generate", str(bib), "-n", "3", "-o", str(tmp_path / "a")])
    assert old == new and old["samples"] == 3 and old["output_dir"] == str(tmp_path / "a")
    assert _parsed(["research", "generate", str(bib), "--n=2"])["samples"] == 2
    assert _parsed(["review", "parse", "x.txt", "--format", "deepreviewer"])["reviewer"].value == "deepreviewer"
    assert _parsed(["detect", "calibrate", "--human", "h", "--machine", "m", "--output", "c.json"])["output"] == "c.json"
    assert _parsed(["train", "c.toml", "--output-dir=o"])["output_dir"] == "o"
    # after `--` nothing is rewritten: a file may be called --n
    assert _parsed(["review", "parse", "--", "--format"])["file"] == "--format"


def test_hidden_aliases_are_not_in_help():
    runner = CliRunner()
    for path, cmd in leaves():
        text = runner.invoke(app, [*path, "--help"]).output
        for old in hidden_aliases(cmd):
            assert not re.search(rf"{re.escape(old)}(?![\w-])", text), f"{' '.join(path)} --help shows {old}"


@pytest.mark.parametrize(
    "args,flag",
    [
        (["train", "examples/cycle_cpu.toml", "-r", "1"], "-r"),  # was --rounds
        (["review", "paper.pdf", "-n", "3"], "-n"),  # was --reviewers
        (["research", "complete", ".", "-r", "results.json"], "-r"),  # was --results
        (["review", "parse", "out.txt", "-f", "deepreviewer"], "-f"),  # was --format
    ],
)
def test_old_short_flags_with_another_meaning_are_gone(args, flag, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert f"No such option: {flag}" in result.output


def _pyproject_version() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return re.search(r'^version = "([^"]+)"', text, flags=re.M).group(1)


def test_version_prints_the_package_version():
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"cycleresearcher {version('cycleresearcher')}\n"
    assert version("cycleresearcher") == _pyproject_version()


def test_version_of_an_uninstalled_tree(monkeypatch):
    """Run from a checkout without installing: the source tree's own version."""
    import importlib.metadata

    from cycleresearcher import cli

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert cli.package_version() == _pyproject_version()


def test_global_flags_work_after_the_command(tmp_path):
    from cycleresearcher.cli import _common, _noise

    raw = tmp_path / "out.txt"
    raw.write_text("## Paper Decision\n\nAccept\n", encoding="utf-8")  # usable: exit 0
    runner = CliRunner()
    for args in (["-v", "review", "parse", str(raw)], ["review", "parse", str(raw), "--verbose", "--debug"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert _noise.verbose()
    assert _common.DEBUG
    assert runner.invoke(app, ["review", "parse", str(raw)]).exit_code == 0
    assert not _noise.verbose() and not _common.DEBUG
    # after `--` a file named -v is a file
    assert "no such file" in runner.invoke(app, ["review", "parse", "--", "-v"]).output


def test_help_lists_the_global_options():
    text = CliRunner().invoke(app, ["--help"]).output
    for flag in ("--verbose", "-v", "--debug", "--version"):
        assert flag in text
