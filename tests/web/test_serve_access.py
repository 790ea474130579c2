"""Who may reach ``serve``: on loopback, this machine only and no token; anywhere else, every
request carries an access token, the user's (16 characters at least) or a new random one."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cycleresearcher.cli import app
from cycleresearcher.errors import InputError
from cycleresearcher.web.guards import LOOPBACK_HOSTS, access_for


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_needs_no_token(host):
    assert access_for(host, "ignored-on-loopback-0123") == (LOOPBACK_HOSTS, None)


def test_off_loopback_every_request_needs_a_token():
    hosts, token = access_for("0.0.0.0", None)
    assert hosts == ["*"] and token and len(token) >= 24
    assert access_for("0.0.0.0", "")[1] not in ("", None, token)  # an empty token is none: a new one
    assert access_for("192.168.1.5", "a-token-of-16-chars") == (["*"], "a-token-of-16-chars")
    with pytest.raises(InputError, match="--token must have at least 16 characters"):
        access_for("0.0.0.0", "short")


def test_serve_refuses_a_short_token_before_serving(tmp_path):
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--token", "short", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--token must have at least 16 characters" in " ".join(result.output.split())
    assert "Warning" not in result.output
