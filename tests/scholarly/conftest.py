"""Every scholarly test runs behind the socket guard (``support.scholarly_server.loopback_only``)."""

from support.scholarly_server import loopback_only  # noqa: F401
