"""CLI: ``cycleresearcher train CONFIG [--rounds R] [-o DIR] [--set key=value]``."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from ._aliases import OUT_ALIASES, aliased
from ._common import EXIT_FAILED, console, guard, out

ConfigArg = Annotated[str, typer.Argument(help="The cycle's TOML config (start from examples/cycle_cpu.toml).")]
RoundsOpt = Annotated[
    Optional[int], typer.Option("--rounds", min=1, help="Number of rounds (overrides the config).")
]
TrainOut = Annotated[
    Optional[str],
    typer.Option(
        "--out",
        "-o",
        help="Run directory: the run store, round_<r>/ (samples, rewards, checkpoint, report.json), summary.json and rewards.png (overrides the config's output_dir). Rerun with the same one to resume.",
    ),
]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--set", help="Override any config key, e.g. --set training.learning_rate=1e-6 --set sampling.k=4."
    ),
]
ConstrainOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--constrain/--no-constrain",
        help="Grammar-constrained structure for the sampling and the reward reviews (overrides the "
        "config's constrain; default auto: off for a released checkpoint, on for any other model).",
        show_default=False,
    ),
]


@guard
def train(
    config: ConfigArg,
    rounds: RoundsOpt = None,
    output_dir: TrainOut = None,
    overrides: SetOpt = None,
    constrain: ConstrainOpt = None,
) -> None:
    """Run the research <-> review cycle: each round samples k papers per reference set from the
    current policy, rewards them with the reviewer, pairs best vs worst, trains SimPO + NLL (or DPO)
    with TRL and saves a merged checkpoint that the next round samples from. Writes
    round_<r>/report.json, summary.json and rewards.png; rerunning the same command resumes.
    Exits 3 when a sampled paper failed to generate or no round had a pair to train on.

    Example: cycleresearcher train examples/cycle_cpu.toml --rounds 1 -o runs/cycle
    """
    from ..app.train import TrainRequest, train_rounds
    from ._report import ConsoleReport

    request = TrainRequest(config, rounds, output_dir, constrain, overrides or [])
    result = train_rounds(request, ConsoleReport(quiet_steps=False))  # the rounds' lines are always shown
    for line in result.summaries():
        out.print_json(json.dumps(line))
    console.print(
        f"Done in {result.elapsed_s:.0f} s. Reports: {result.output_dir}/round_*/report.json; "
        f"final policy: {result.final_policy or '-'}"
    )
    if result.failed_samples:
        console.print(
            f"[bold red]{result.failed_samples} sampled paper(s) failed to generate[/] (see round_*/report.json); "
            f"rerun the same command to retry them."
        )
    if not result.trained:
        console.print(
            "[bold red]No round had a preference pair to train on[/]: the policy is unchanged. "
            "Sample more papers (sampling.k) or lower pairing.min_gap."
        )
    if result.failed_samples or not result.trained:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command("train", no_args_is_help=True, cls=aliased(**OUT_ALIASES))(train)
