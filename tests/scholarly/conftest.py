"""The scholarly tests run behind a socket guard: any connection or name lookup other than
127.0.0.1 fails the request (and is recorded), so no test can reach a real service."""

from __future__ import annotations

import pytest
from support.scholarly_server import Guard


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch, tmp_path):
    # the user's own keys and cache never take part in a test
    for name in ("CYCLERESEARCHER_S2_API_KEY", "S2_API_KEY", "SEMANTIC_SCHOLAR_API_KEY",
                 "CYCLERESEARCHER_OPENALEX_API_KEY", "OPENALEX_API_KEY", "CYCLERESEARCHER_MAILTO"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CYCLERESEARCHER_SCHOLARLY_CACHE", str(tmp_path / "scholarly-cache.sqlite"))
    with Guard() as guard:
        yield guard
