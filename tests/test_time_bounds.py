"""Time bounds that hold whatever a server does: the request watchdog, the host breaker, the run deadline, signals."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultserver import FaultServer

from sources.http import FetchError, Http, HttpSettings

ROOT = Path(__file__).resolve().parents[1]
ISSUE = "2026-03-04"
# At one byte per TRICKLE seconds the server would hold a request for BYTES * TRICKLE seconds.
TRICKLE = 0.2
BYTES = 300


class HeaderTrickler:
    """Answers every connection with a status line, then one header byte every TRICKLE seconds."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.connected = threading.Event()
        self.cut_off = threading.Event()
        self.stopping = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/slow.ics"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            self.connected.set()
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Pad: ")
                for _ in range(BYTES):
                    if self.stopping.wait(TRICKLE):
                        return
                    conn.sendall(b"a")
            except OSError:
                self.cut_off.set()

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()


@pytest.fixture
def trickler() -> Iterator[HeaderTrickler]:
    server = HeaderTrickler()
    yield server
    server.close()


def test_the_deadline_holds_against_a_server_trickling_its_headers(trickler: HeaderTrickler) -> None:
    settings = HttpSettings(deadline=1, timeout_read=5, retries=0)
    with Http(settings) as http, pytest.raises(FetchError) as caught:
        http.get(trickler.url)
    assert str(caught.value) == f"timed out after 1 s fetching {trickler.url}"
    # The watchdog closed the connection long before the server's headers could end.
    assert trickler.cut_off.wait(10)


def test_a_host_that_keeps_refusing_is_skipped_after_three_failures_in_a_row() -> None:
    url = FaultServer.refused_url("/x.ics")
    with Http(HttpSettings(retries=0, breaker_failures=3)) as http:
        errors = []
        for _ in range(5):
            with pytest.raises(FetchError) as caught:
                http.get(url)
            errors.append(str(caught.value))
        assert all("connection refused" in error for error in errors[:3])
        assert all("is down in this run" in error for error in errors[3:])
        assert list(http.hosts_down) == ["127.0.0.1"]


def test_a_reply_resets_the_breaker() -> None:
    refused = FaultServer.refused_url("/x")
    with FaultServer() as server, Http(HttpSettings(retries=0, breaker_failures=2)) as http:
        good = server.add("/ok", body=b"ok")
        with pytest.raises(FetchError):
            http.get(refused)
        assert http.get(good).content == b"ok"
        with pytest.raises(FetchError, match="connection refused"):
            http.get(refused)
        assert http.hosts_down == {}


def write_config(folder: Path, urls: list[str], extra: str = "") -> Path:
    (folder / "manual.toml").write_text(
        '[[event]]\ntitle = "Rust Cologne"\nurl = "https://example.org/cologne"\n'
        'start = 2026-03-10T19:00:00+01:00\nplace = "Cologne, DE"\n',
        encoding="utf-8",
    )
    lines = [extra, "[output]", 'dir = "public"', "", "[[source]]", 'name = "hand"', 'type = "manual"']
    lines += ['path = "manual.toml"', ""]
    for index, url in enumerate(urls):
        lines += ["[[source]]", f'name = "cal {index}"', 'type = "ics"', f"url = {json.dumps(url)}", ""]
    path = folder / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "aggregator.cli", "run", "--config", str(config), "--date", ISSUE, *extra]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_a_down_host_is_named_once_and_the_run_goes_on(tmp_path: Path) -> None:
    config = write_config(tmp_path, [FaultServer.refused_url(f"/{n}.ics") for n in range(6)], "[http]\nretries = 0\n")
    done = run(config)
    assert done.returncode == 0, done.stderr
    assert "Rust Cologne" in done.stdout
    assert done.stderr.count("hosts down (1)") == 1
    assert "  127.0.0.1: connection refused" in done.stderr


def test_the_run_deadline_stops_fetching_and_keeps_the_rest(tmp_path: Path, trickler: HeaderTrickler) -> None:
    config = write_config(tmp_path, [trickler.url], "[limits]\nrun_seconds = 1\n[http]\ndeadline = 600\n")
    done = run(config)
    assert done.returncode == 0, done.stderr
    assert "Rust Cologne" in done.stdout
    assert "fetching stopped early: the run's deadline of 1 s passed" in done.stderr
    assert trickler.cut_off.wait(10)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_run_with_the_store_intact(
    tmp_path: Path, trickler: HeaderTrickler, number: signal.Signals
) -> None:
    config = write_config(tmp_path, [])
    assert run(config).returncode == 0
    store = tmp_path / ".twir-events" / "store.sqlite"
    before = store_rows(store)
    write_config(tmp_path, [trickler.url], "[http]\ndeadline = 600\n")
    command = [sys.executable, "-m", "aggregator.cli", "run", "--config", str(config), "--date", ISSUE]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert trickler.connected.wait(60), "the run never reached the server"
        process.send_signal(number)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert err.splitlines()[-1] == f"error: stopped: {number.name} received; nothing was stored"
    assert out == ""
    assert store_rows(store) == before


def store_rows(store: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return db.execute("SELECT key, data, removed_at FROM events ORDER BY key").fetchall()
