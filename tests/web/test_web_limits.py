"""The web page under hostile input, on a real uvicorn on 127.0.0.1: a PDF bomb uploaded for review
and a 5 MB .bib are read off the event loop (other pages answer meanwhile), the bomb is
refused with a clear line; and a server bound off loopback needs its access token for everything."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from cycleresearcher.web.app import create_app
from support import child_env
from support.fake_engine import FakeEngine
from support.pdf_bomb import bomb_pdf

WEB = Path(__file__).parents[1] / "data" / "web"


def Factory():  # noqa: N802 - reads as the other web tests' factory
    """The scripted engine for every family (no job here is meant to reach it)."""
    return lambda choice, family: FakeEngine((WEB / "review.txt").read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(app):  # type: ignore[no-untyped-def]
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def while_posting(base: str, post) -> tuple[httpx.Response, list[float]]:  # type: ignore[no-untyped-def]
    """``post(client)`` in a thread while ``/runs`` is fetched again and again: the POST's
    response and the seconds each ``/runs`` took."""
    box: dict = {}
    headers = {"X-CSRF-Token": "tok"}

    def send() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=300) as c:
            box["response"] = post(c)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    waits: list[float] = []
    with httpx.Client(base_url=base, timeout=120) as c:
        time.sleep(0.3)  # the upload is in
        while thread.is_alive():
            start = time.monotonic()
            assert c.get("/runs").status_code == 200
            waits.append(time.monotonic() - start)
            time.sleep(0.2)
    thread.join()
    return box["response"], waits


def test_a_pdf_bomb_upload_does_not_freeze_the_server(tmp_path, monkeypatch):
    app = create_app(tmp_path / "runs", engine_factory=Factory(), csrf_token="tok")
    bomb = bomb_pdf(20, 5.0)
    with served(app) as base:

        def upload(c: httpx.Client) -> httpx.Response:
            return c.post("/review-upload", files={"paper": ("bomb.pdf", bomb, "application/pdf")})

        r, _ = while_posting(base, upload)
        assert r.status_code == 400 and "decompress to more than 64 MB" in r.text
        # past the size budget (raised), the time budget ends it; the page answers all along
        monkeypatch.setenv("CYCLERESEARCHER_READ_MAX_MB", "1000")
        monkeypatch.setenv("CYCLERESEARCHER_READ_SECONDS", "4")
        start = time.monotonic()
        r, waits = while_posting(base, upload)
        took = time.monotonic() - start
    assert r.status_code == 400 and "took longer than 4 s" in r.text, r.text[-2000:]
    assert 4 <= took < 15
    assert len(waits) >= 5 and max(waits) < 2, waits  # before: frozen for the whole read (91 s)
    assert not app.state.runner.recent(10)  # no job was started for it


@pytest.mark.slow  # tens of seconds of parsing on a busy 2-core machine
def test_a_5_mb_bib_does_not_block_other_requests(tmp_path, monkeypatch):
    monkeypatch.setenv("CYCLERESEARCHER_READ_SECONDS", "30")  # a loaded CI machine may need more
    entry = (WEB / "refs.bib").read_text().strip() + "\n\n"
    big = ""
    k = 0
    while len(big) < 5 * 10**6:
        big += entry.replace("{", f"{{k{k}x", 1)  # distinct keys
        k += 1
    app = create_app(tmp_path / "runs", engine_factory=Factory(), csrf_token="tok")
    with served(app) as base:

        def upload(c: httpx.Client) -> httpx.Response:
            files = {"bib": ("big.bib", big.encode(), "text/plain")}
            return c.post("/generate", files=files, data={"n": "1", "max_tokens": "16"})

        r, waits = while_posting(base, upload)
    # parsed in a worker and the job started, or (on a slow machine) refused at the budget
    assert r.status_code == 303 or "took longer than 30 s" in r.text, r.text[-1000:]
    assert waits and max(waits) < 2, waits


# -- a server others can reach ----------------------------------------------------------------------


def test_off_loopback_every_request_needs_the_access_token(tmp_path):
    app = create_app(
        tmp_path / "runs",
        engine_factory=Factory(),
        allowed_hosts=["*"],
        access_token="a-long-access-secret-1234",
    )
    anyone = TestClient(app, base_url="http://192.0.2.7:8000")
    for method, url in (("GET", "/"), ("GET", "/api/token"), ("GET", "/runs"), ("GET", "/static/style.css"),
                        ("POST", "/generate")):  # fmt: skip
        r = anyone.request(method, url)
        assert r.status_code == 401 and "access token" in r.text, (url, r.status_code)
        assert app.state.csrf_token not in r.text
    # a forged Host equal to a forged Origin: refused as well (before: started a job)
    forged = {"Host": "evil.example", "Origin": "http://evil.example"}
    files = {"bib": ("refs.bib", (WEB / "refs.bib").read_bytes(), "text/plain")}
    r = anyone.post("/generate", headers=forged, files=files, follow_redirects=False)
    assert r.status_code == 401 and not app.state.runner.recent(10)
    assert anyone.get("/?token=wrong").status_code == 401
    # the printed link: its first visit sets the cookie and drops the token from the address
    r = anyone.get("/runs?token=a-long-access-secret-1234&x=1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/runs?x=1"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert anyone.get("/").status_code == 200  # the client keeps the cookie
    assert anyone.get("/api/token").json()["token"] == app.state.csrf_token
    script = TestClient(app, base_url="http://192.0.2.7:8000")
    assert script.get("/", headers={"X-Access-Token": "a-long-access-secret-1234"}).status_code == 200
    assert script.get("/", headers={"Authorization": "Bearer a-long-access-secret-1234"}).status_code == 200


def test_loopback_keeps_working_without_a_token(tmp_path):
    app = create_app(tmp_path / "runs", engine_factory=Factory())
    client = TestClient(app, base_url="http://127.0.0.1")
    assert client.get("/").status_code == 200 and client.get("/api/token").status_code == 200


def test_serve_off_loopback_prints_a_token_and_refuses_requests_without_it(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cycleresearcher", "serve", "--host", "0.0.0.0", "--port", str(port)]
        + ["--runs-dir", str(tmp_path / "runs")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=child_env(COLUMNS="300", CYCLERESEARCHER_TOKEN=""),
    )
    try:
        lines = []
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if "?token=" in line:
                break
        text = " ".join("".join(lines).split())
        assert "reachable from other machines" in text and "read and download every run" in text, text
        token = text.split("?token=")[1].split()[0]
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(base + "/api/token")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert r.status_code == 401
        assert httpx.get(base + "/api/token", headers={"X-Access-Token": token}).status_code == 200
        r = httpx.post(base + "/generate", headers={"Host": "evil.example", "Origin": "http://evil.example"})
        assert r.status_code == 401
    finally:
        proc.terminate()
        proc.wait(30)


def test_ctrl_c_stops_serve_while_a_job_waits_on_a_silent_server(tmp_path):
    """A review job hangs on a server that sent one ``: ping`` and then nothing; SIGINT to ``serve`` ends it in
    seconds (before: the job's thread held the process until the server gave up, if ever)."""
    import signal

    from support.hostile_server import HostileServer, pings

    port = free_port()
    with HostileServer(pings(3600)) as hostile:  # one ping, then silence
        proc = subprocess.Popen(
            [sys.executable, "-m", "cycleresearcher", "serve", "--port", str(port), "--base-url", hostile.url]
            + ["--runs-dir", str(tmp_path / "runs")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    token = httpx.get(base + "/api/token").json()["token"]
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < deadline, "serve did not start"
                    time.sleep(0.2)
            paper = (
                "paper.md",
                b"# A paper\n\nWe study things carefully and report what we found.\n",
                "text/markdown",
            )
            r = httpx.post(base + "/review-upload", files={"paper": paper}, headers={"X-CSRF-Token": token})
            assert r.status_code == 303, r.text[-1000:]
            while hostile.requests < 1:
                assert time.monotonic() < deadline, "the job never reached the server"
                time.sleep(0.1)
            time.sleep(1)
            proc.send_signal(signal.SIGINT)
            start = time.monotonic()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                pytest.fail("serve still running 30 s after Ctrl-C")
            assert time.monotonic() - start < 10
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
