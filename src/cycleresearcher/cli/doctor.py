"""CLI: ``cycleresearcher doctor``: what is installed and usable on this machine."""

from __future__ import annotations

import typer

from ._common import out


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(json_output: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Check python, torch, GPU, engines, TeX and the embedded model.

    Example: cycleresearcher doctor --json
    """
    import json

    from rich.table import Table

    from ..doctor import collect

    report = collect()
    if json_output:
        out.print_json(json.dumps(report))
        return
    table = Table(title="cycleresearcher doctor")
    table.add_column("check")
    table.add_column("ok")
    table.add_column("detail")
    for name, item in report.items():
        table.add_row(name, "[green]yes[/]" if item["ok"] else "[yellow]no[/]", item["detail"])
    out.print(table)
