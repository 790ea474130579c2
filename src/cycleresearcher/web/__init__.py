"""The local web page (``cycleresearcher serve``): FastAPI + Jinja2 over the same API as the CLI.

Import :func:`create_app` from ``cycleresearcher.web.app``; nothing heavy is loaded here.
"""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    from .app import create_app as _create

    return _create(*args, **kwargs)


__all__ = ["create_app"]
