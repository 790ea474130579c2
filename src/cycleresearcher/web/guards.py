"""What every request passes before a page sees it: the access token (a server reachable by
others), the Origin check, the CSRF token, the body limit.

Outermost first (as ``create_app`` installs them): :class:`AccessGuard` (only when the server was
given an access token: ``serve --host`` off loopback), the Host check (Starlette's
TrustedHostMiddleware, against DNS rebinding), :func:`origin_guard`, then :class:`BodyLimit`;
:func:`require_token` runs as the app-wide dependency of every route.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..app.uploads import MAX_BIB_BYTES, MAX_PAPER_BYTES, MAX_RESULTS_BYTES
from ..errors import InputError

#: the whole request body, at most; each form has its own, smaller limit (``body_limit``) and each
#: upload its own again (app/uploads.py)
MAX_REQUEST_BYTES = 40 * 1024 * 1024
#: room for a form's text fields next to its file (and the whole body of a form without a file)
FORM_BYTES = 1024 * 1024
#: the header that carries the token for clients that are not the page (scripts, curl)
TOKEN_HEADER = "X-CSRF-Token"
#: the hidden form field that carries it in the page's own forms
TOKEN_FIELD = "csrf_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
#: the --host values that keep the server on this machine (no access token needed)
LOOPBACK_BINDS = ("127.0.0.1", "localhost", "::1")
#: the shortest access token a user may choose
MIN_TOKEN_CHARS = 16


def access_for(host: str, token: str | None) -> tuple[list[str], str | None]:
    """(the Host headers to accept, the access token every request must carry) for a server bound
    to ``host``: loopback needs no token; anything else takes ``token`` (a user's, at least 16
    characters) or a new random one, and accepts any Host (the token is the guard then)."""
    if host in LOOPBACK_BINDS:
        return list(LOOPBACK_HOSTS), None
    token = token or None  # an empty CYCLERESEARCHER_TOKEN is none
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise InputError(
            f"--token must have at least {MIN_TOKEN_CHARS} characters (or leave it out for a random one)."
        )
    return ["*"], token or secrets.token_urlsafe(24)


async def require_token(request: Request) -> None:
    """A state-changing request without an Origin header (not sent by a browser page, or by an
    old browser) must prove it knows the server's token; the Origin itself is checked earlier."""
    if request.method in SAFE_METHODS or request.headers.get("origin"):
        return
    sent = request.headers.get(TOKEN_HEADER, "")
    if not sent and "form" in request.headers.get("content-type", ""):
        value = (await request.form()).get(TOKEN_FIELD)  # parsed once; FastAPI reuses it
        sent = value if isinstance(value, str) else ""
    token: str = request.app.state.csrf_token
    if not secrets.compare_digest(sent.encode(), token.encode()):
        raise StarletteHTTPException(
            403,
            "This request has no Origin header and no valid token, so it may come from another site. "
            "Use the forms of this page, or send the token from GET /api/token in the "
            f"{TOKEN_HEADER} header.",
        )


async def origin_guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Refuse a POST whose Origin is another site (or ``null``) before any form is parsed."""
    if request.method not in SAFE_METHODS:
        origin = request.headers.get("origin")
        # "null" is what sandboxed frames, file:// pages and some redirects send
        if origin is not None and (origin == "null" or urlsplit(origin).netloc != request.headers.get("host")):
            return request.app.state.site.error(
                request,
                403,
                "This form was sent from another site; the local server only accepts its own pages.",
            )
    return await call_next(request)


def body_limit(method: str, path: str) -> int:
    """The most bytes a request body to ``path`` may have: its upload's limit plus room for the
    form's text fields (the generate form may carry a .bib file and pasted BibTeX)."""
    if path == "/generate":
        limit = 2 * MAX_BIB_BYTES + FORM_BYTES
    elif path in ("/review-upload", "/detect-upload"):
        limit = MAX_PAPER_BYTES + FORM_BYTES
    elif method == "POST" and path.endswith("/complete"):
        limit = MAX_RESULTS_BYTES + FORM_BYTES
    else:
        limit = FORM_BYTES
    return min(limit, MAX_REQUEST_BYTES)


async def too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    """The 413 page of :class:`BodyLimit`."""
    message = f"The upload is too large: this form accepts at most {_size(limit)}. Upload a smaller file."
    request = Request(scope)
    response = request.app.state.site.error(request, 413, message)
    # close the connection: otherwise the server reads (and drops) the rest of a huge body
    response.headers["Connection"] = "close"
    await response(scope, receive, send)


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: count a request's body as it streams in and answer 413 as soon as it
    passes ``limit_for(method, path)``; a declared Content-Length over the limit is refused before
    a byte is read. Without it a chunked upload (no Content-Length) is spooled to a temp file whole
    before any size check runs."""

    def __init__(self, app: ASGIApp, limit_for, reject) -> None:
        self.app, self.limit_for, self.reject = app, limit_for, reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self.reject(scope, receive, send, limit)
            return
        received, over, started = 0, False, False

        async def counted() -> Message:
            nonlocal received, over
            if over:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise _BodyTooLarge  # the parser stops here; the rest is never read
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if over:  # whatever the app answers to a cut-off body, the answer is 413
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self.reject(scope, receive, send, limit)


#: where a client that is not a browser sends the access token (``Authorization: Bearer`` works too)
ACCESS_HEADER = "X-Access-Token"
#: the query parameter of the link printed at start, and the cookie its first visit sets
ACCESS_QUERY = "token"
ACCESS_COOKIE = "cycleresearcher_access"


class AccessGuard:
    """ASGI middleware for a server others can reach: every request (pages, static files, the API,
    ``/api/token`` included) must carry ``token`` in the ``X-Access-Token`` header, as
    ``Authorization: Bearer``, or in the cookie that a first visit with ``?token=`` sets
    (HttpOnly, SameSite=Strict: another site's page cannot send it, and a rebound host name has
    no cookie). Anything else gets 401 and nothing about the runs."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.token = app, token.encode()

    def _valid(self, sent: str | None) -> bool:
        return bool(sent) and secrets.compare_digest(str(sent).encode(), self.token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        bearer = headers.get("authorization", "")
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is no token
            cookie = SimpleCookie()
        sent = [
            headers.get(ACCESS_HEADER.lower()),
            bearer[7:] if bearer.lower().startswith("bearer ") else None,
            cookie[ACCESS_COOKIE].value if ACCESS_COOKIE in cookie else None,
        ]
        if any(self._valid(s) for s in sent):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = [v for k, v in query if k == ACCESS_QUERY]
        if scope["type"] == "http" and scope["method"] in SAFE_METHODS and given and self._valid(given[-1]):
            # the printed link: keep the token in a cookie and take it out of the address bar
            rest = urlencode([(k, v) for k, v in query if k != ACCESS_QUERY])
            response: Response = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), 303)
            response.set_cookie(ACCESS_COOKIE, self.token.decode(), httponly=True, samesite="strict")
        else:
            response = HTMLResponse(
                "<!doctype html><title>Access token needed</title><h1>Access token needed</h1>"
                "<p>This CycleResearcher server is reachable from other machines, so every request "
                "needs its access token. Open the link that <code>cycleresearcher serve</code> printed "
                f"at start (it ends in <code>?{ACCESS_QUERY}=...</code>), or send the token in the "
                f"<code>{ACCESS_HEADER}</code> header.</p>",
                401,
                headers={"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"},
            )
        await response(scope, receive, send)


__all__ = [
    "ACCESS_COOKIE",
    "ACCESS_HEADER",
    "ACCESS_QUERY",
    "AccessGuard",
    "FORM_BYTES",
    "LOOPBACK_HOSTS",
    "MAX_REQUEST_BYTES",
    "SAFE_METHODS",
    "TOKEN_FIELD",
    "TOKEN_HEADER",
    "BodyLimit",
    "access_for",
    "body_limit",
    "origin_guard",
    "require_token",
    "too_large",
]
