"""CLI: ``cycleresearcher train CONFIG [--rounds R] [-o DIR] [--set key=value]``."""

from __future__ import annotations

import json
import time
from typing import Annotated, Optional

import typer

from ..app.runfolder import new_run_dir
from ._aliases import OUT_ALIASES, aliased
from ._common import EXIT_FAILED, console, guard, out


@guard
def train(
    config: Annotated[
        str, typer.Argument(help="The cycle's TOML config (start from examples/cycle_cpu.toml).")
    ],
    rounds: Annotated[
        Optional[int], typer.Option("--rounds", min=1, help="Number of rounds (overrides the config).")
    ] = None,
    output_dir: Annotated[
        Optional[str],
        typer.Option(
            "--out",
            "-o",
            help="Run directory: the run store, round_<r>/ (samples, rewards, checkpoint, report.json), summary.json and rewards.png (overrides the config's output_dir). Rerun with the same one to resume.",
        ),
    ] = None,
    overrides: Annotated[
        Optional[list[str]],
        typer.Option(
            "--set",
            help="Override any config key, e.g. --set training.learning_rate=1e-6 --set sampling.k=4.",
        ),
    ] = None,
    constrain: Annotated[
        Optional[bool],
        typer.Option(
            "--constrain/--no-constrain",
            help="Grammar-constrained structure for the sampling and the reward reviews (overrides the "
            "config's constrain; default auto: off for a released checkpoint, on for any other model).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the research <-> review cycle: each round samples k papers per reference set from the
    current policy, rewards them with the reviewer, pairs best vs worst, trains SimPO + NLL (or DPO)
    with TRL and saves a merged checkpoint that the next round samples from. Writes
    round_<r>/report.json, summary.json and rewards.png; rerunning the same command resumes.
    Exits 3 when a sampled paper failed to generate or no round had a pair to train on.

    Example: cycleresearcher train examples/cycle_cpu.toml --rounds 1 -o runs/cycle
    """
    from ..train.config import load_config
    from ..train.rounds import run_cycle

    cfg = load_config(config, cli_overrides(overrides, rounds, output_dir, constrain))
    start = time.perf_counter()
    from ..progress import for_stderr, reporting

    # the run directory is removed again if the first round cannot start
    with new_run_dir(cfg.output_dir, "train"), reporting(for_stderr(console, "sampling / reviewing")):
        reports = run_cycle(cfg, log=lambda msg: console.print(msg))
    keys = ("round", "pairs", "reward_margin", "loss", "margin_before", "margin_after", "accepted_rate")
    for rep in reports:
        out.print_json(json.dumps({k: rep.get(k) for k in keys} | {"reward_mean": rep["rewards"]["mean"]}))
    console.print(
        f"Done in {time.perf_counter() - start:.0f} s. Reports: {cfg.output_dir}/round_*/report.json; "
        f"final policy: {reports[-1]['checkpoint'] if reports else '-'}"
    )
    failed = sum(rep.get("generation_failed", 0) for rep in reports)
    if failed:
        console.print(
            f"[bold red]{failed} sampled paper(s) failed to generate[/] (see round_*/report.json); "
            f"rerun the same command to retry them."
        )
    if not any(rep.get("pairs") for rep in reports):
        console.print(
            "[bold red]No round had a preference pair to train on[/]: the policy is unchanged. "
            "Sample more papers (sampling.k) or lower pairing.min_gap."
        )
    if failed or not any(rep.get("pairs") for rep in reports):
        raise typer.Exit(EXIT_FAILED)


def cli_overrides(
    overrides: list[str] | None, rounds: int | None, output_dir: str | None, constrain: bool | None
) -> list[str]:
    """The command's options as config overrides, after the --set ones (the named options win)."""
    extra = list(overrides or [])
    if rounds is not None:
        extra.append(f"rounds={rounds}")
    if output_dir is not None:
        extra.append(f"output_dir={json.dumps(output_dir)}")
    if constrain is not None:
        extra.append(f"constrain={str(constrain).lower()}")
    return extra


def register(app: typer.Typer) -> None:
    app.command("train", no_args_is_help=True, cls=aliased(**OUT_ALIASES))(train)
