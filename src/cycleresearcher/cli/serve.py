"""CLI: ``cycleresearcher serve``: the local web page for the whole cycle."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ._common import ApiKeyOpt, BaseUrlOpt, EngineOpt, ModelOpt, console, guard


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


HostOpt = Annotated[
    str,
    typer.Option(
        "--host",
        help="Address to bind. Default 127.0.0.1 (this machine only); anything else is reachable by others and needs the access token printed at start (--token).",
    ),
]
TokenOpt = Annotated[
    Optional[str],
    typer.Option(
        "--token",
        envvar="CYCLERESEARCHER_TOKEN",
        show_default=False,
        help="Access token every request must carry when --host is not loopback (default: a new random one, printed at start).",
    ),
]
RunsDirOpt = Annotated[
    str, typer.Option("--runs-dir", help="Folder of run directories (CLI runs there show up too).")
]
MaxTokensOpt = Annotated[
    Optional[int],
    typer.Option(
        "--max-tokens",
        min=1,
        help="Default max new tokens in the forms. Default: each task's own, as in the CLI (the "
        "embedded stand-in's tuned budgets: 2,816 for a paper, 3,584 a review; upstream's limits for other models).",
    ),
]


@guard
def serve(
    host: HostOpt = "127.0.0.1",
    token: TokenOpt = None,
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="TCP port.")] = 8000,
    runs_dir: RunsDirOpt = "runs",
    model: ModelOpt = None,
    engine: EngineOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    max_tokens: MaxTokensOpt = None,
) -> None:
    """Open a local web page to generate, read, review and detect papers and browse earlier runs.

    Example: cycleresearcher serve --port 8000 --runs-dir runs   (then open http://127.0.0.1:8000)

    Jobs run one at a time in the background and survive a page reload; results are run directories under --runs-dir, the same as the CLI writes. --model / --engine / --base-url set the forms' defaults; the server URL and its key (--api-key or OPENAI_API_KEY) never appear in the page.
    """
    try:
        import uvicorn

        from ..web.app import create_app
        from ..web.guards import access_for
    except ImportError as exc:
        from ..errors import MissingDependencyError

        raise MissingDependencyError(exc.name or "fastapi", "web", "the web page") from exc

    allowed, access = access_for(host, token)
    if access:
        _warn_reachable(host, port, runs_dir)
    app = create_app(
        runs_dir,
        model=model,
        engine=engine,
        base_url=base_url,
        api_key=api_key,
        max_tokens=max_tokens,
        allowed_hosts=allowed,
        access_token=access,
    )
    _announce(app, host, port, runs_dir, access)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _warn_reachable(host: str, port: int, runs_dir: str) -> None:
    console.print(
        f"[bold yellow]Warning:[/] serving on {host}:{port}, reachable from other machines. Whoever has "
        f"the access token can run models here (this machine's CPU/GPU, and --base-url's server with "
        f"its key), start, read and download every run in {runs_dir} (papers, reviews, uploaded "
        "files) and upload files. Every request without the token is refused. The page is plain "
        "HTTP: anyone on the network path can read the token; use an SSH tunnel or a TLS proxy "
        "across untrusted networks, or the default --host 127.0.0.1.",
        soft_wrap=True,
    )


def _announce(app, host: str, port: int, runs_dir: str, access: str | None) -> None:
    """The damaged runs skipped, the page's link (with the token when one is needed)."""
    from rich.markup import escape

    for name, why in app.state.site.runner.broken:  # listed on the page too
        console.print(f"[yellow]Skipped damaged run[/] {escape(name)}: {escape(why)}", soft_wrap=True)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    link = f"http://{shown}:{port}" + (f"/?token={access}" if access else "")
    console.print(f"CycleResearcher page: {link}  (runs in {runs_dir}; Ctrl+C to stop)", soft_wrap=True)
    if access:
        console.print(f"Access token (header X-Access-Token for scripts): {access}", soft_wrap=True)


__all__ = ["register", "serve"]
