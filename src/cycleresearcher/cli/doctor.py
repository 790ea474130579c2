"""CLI: ``cycleresearcher doctor``: what is installed and usable on this machine."""

from __future__ import annotations

import typer

from ._common import EXIT_FAILED, console, out


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    json_output: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    smoke: bool = typer.Option(
        True,
        "--smoke/--no-smoke",
        help="Run one tiny generation with the embedded model in a child process (a few seconds).",
    ),
) -> None:
    """Check python, torch, GPU, engines, TeX and the embedded model, then generate a few tokens.

    The smoke generation runs in a child process: if llama.cpp crashes (e.g. SIGILL from a build
    for another CPU), the report names the signal, the CPU flags, the build and the fix, and the
    command exits 3.

    Example: cycleresearcher doctor --json
    """
    import json

    from rich.markup import escape
    from rich.table import Table

    from ..doctor import collect
    from ..doctor import smoke as run_smoke

    report = collect()
    if smoke:
        report["smoke generation"] = run_smoke()
    failed = smoke and not report["smoke generation"]["ok"] and not report["smoke generation"].get("skipped")
    if json_output:
        out.print_json(json.dumps(report))
    else:
        table = Table(title="cycleresearcher doctor")
        table.add_column("check")
        table.add_column("ok")
        table.add_column("detail")
        for name, item in report.items():
            table.add_row(name, "[green]yes[/]" if item["ok"] else "[yellow]no[/]", escape(item["detail"]))
        out.print(table)
    if failed:
        row = report["smoke generation"]
        console.print(f"[bold red]Smoke generation failed:[/] {escape(row['detail'])}", soft_wrap=True)
        console.print(f"CPU flags: {escape(row['cpu_flags'])}", soft_wrap=True)
        console.print(f"llama.cpp: {escape(row['llama_build'])}", soft_wrap=True)
        console.print(f"Fix: {escape(row['fix'])}", soft_wrap=True)
        raise typer.Exit(EXIT_FAILED)
