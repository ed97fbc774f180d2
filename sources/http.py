"""One place where sources get bytes: http(s) through a polite, bounded, cached session; file:// from disk.

Every request has connect/read timeouts and a total deadline, retries transient failures with jittered
back-off (honouring Retry-After), respects a per-host concurrency limit, caps the body size while
streaming, revalidates cached bodies (ETag / Last-Modified -> 304) and falls back to the last good
cached body when the server fails. Every request is recorded as a `Transfer`.
"""

from __future__ import annotations

import logging
import random
import re
import socket
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from aggregator import localfile
from aggregator.tomltable import Table

# requests and requests-cache are imported where a request is made, and http.client and ssl (which requests
# loads anyway) where a failure is explained: reading local files and loading the config need none of them,
# and together they are a large share of the start-up time.
if TYPE_CHECKING:
    import requests
    import requests.adapters
    import requests_cache
    from requests_cache.backends.sqlite import SQLiteCache

MB = 1024 * 1024
DEFAULT_CONTACT = "https://github.com/twir-events/twir-events"
CHUNK = 64 * 1024
# No single request setting may exceed an hour: beyond that it is a typo that would stall the run.
MAX_SECONDS = 3600.0
# Cached entries expire at once so every request revalidates (or refetches when there is no validator);
# a zero expiry would make requests-cache drop bodies without validators, leaving stale-if-error nothing.
EXPIRE_AT_ONCE = timedelta(microseconds=1)
SQLITE_BUSY_MS = 30_000
# Every use of a cached entry rewrites it (its expiry moves), so an entry untouched this long belongs to a source
# gone from the config or to a Meetup API query of a past window (the query names its dates): it is dropped.
UNUSED_FOR = timedelta(days=30)

_log = logging.getLogger(__name__)


@cache
def package_version() -> str:
    """This package's version, for the User-Agent; read when the first request is made, not at import."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("twir-events")
    except PackageNotFoundError:
        return "0+unknown"


class FetchError(Exception):
    """A request failed; the message is one line naming the URL and the cause."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class HttpSettings:
    """How every request behaves; config builds it from the `[http]` table (see http_settings_from_table).

    `deadline` bounds a whole request on wall time, retries and back-off included (a watchdog closes the
    connection when it passes); `backoff` is the first back-off step (doubling per retry, fully jittered);
    `max_wait` bounds the total back-off; `cache` None means no cache; after `breaker_failures` connection
    failures in a row (DNS, refused, connect timeout) a host's other requests in this run fail at once.
    """

    user_agent_contact: str = DEFAULT_CONTACT
    timeout_connect: float = 10.0
    timeout_read: float = 30.0
    deadline: float = 120.0
    retries: int = 3
    backoff: float = 1.0
    max_wait: float = 60.0
    max_bytes: int = 20 * MB
    per_host: int = 2
    host_limits: Mapping[str, int] = field(default_factory=dict)
    cache: Path | None = None
    breaker_failures: int = 3

    @property
    def user_agent(self) -> str:
        return f"twir-events/{package_version()} (+{self.user_agent_contact})"

    def host_limit(self, host: str) -> int:
        return self.host_limits.get(host, self.per_host)


@dataclass(frozen=True)
class Transfer:
    """One request as it went over the wire: for byte totals per source and the fetch log.

    `status` is 304 for a revalidated body and None when no reply came; `bytes_received` counts body
    bytes off the wire over all attempts; `error` is set when the request failed (even if a stale copy was served).
    """

    url: str
    status: int | None
    bytes_received: int
    duration: float
    from_cache: bool
    revalidated: bool
    attempts: int
    error: str | None = None
    source: str = ""

    @property
    def stale(self) -> bool:
        """The server failed and the last good cached body was served instead."""
        return self.from_cache and self.error is not None


@dataclass
class Response:
    """A fetched body with what callers need to know about it."""

    url: str
    status: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    from_cache: bool = False
    stale: bool = False

    @property
    def text(self) -> str:
        return decode_text(self.content, _declared_charset(self.headers.get("Content-Type", "")))


class Http:
    """The HTTP client every source uses; thread-safe, so one instance serves the whole thread pool."""

    def __init__(
        self, settings: HttpSettings | None = None, *, on_transfer: Callable[[Transfer], None] | None = None
    ) -> None:
        self._pool = _Pool(settings or HttpSettings(), on_transfer)
        self.source = ""

    @property
    def settings(self) -> HttpSettings:
        return self._pool.settings

    @property
    def transfers(self) -> list[Transfer]:
        """A snapshot of the transfers made through this handle (all of them for the root handle)."""
        return self._pool.snapshot(self.source or None)

    def for_source(self, name: str) -> Http:
        """A handle sharing sessions, cache, host limits and log, whose transfers are tagged with `name`."""
        view = Http.__new__(Http)
        view._pool = self._pool
        view.source = name
        return view

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        if url.startswith("file://"):
            return self._read_file(url)
        return self._fetch("GET", url, params=params, headers=headers)

    def post(
        self,
        url: str,
        *,
        json: object = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        cache: bool = False,
    ) -> Response:
        """POST a JSON body (GraphQL queries) or a form (OAuth token exchanges), retried like a GET.

        With `cache` (a query that only reads) the reply is cached under the URL and body, never the Authorization
        header, and revalidated like a GET; otherwise the request says `Cache-Control: no-store` and is never cached.
        """
        if not cache:
            headers = {**(headers or {}), "Cache-Control": "no-store"}
        return self._fetch("POST", url, json=json, data=data, headers=headers)

    def close(self) -> None:
        """Close every session (and cache connection) this Http opened, in any thread."""
        self._pool.close()

    def stop(self, reason: str) -> None:
        """Fail every request in flight within a moment, and every later one at once, saying `reason`.

        Safe to call from a signal handler: it only sets an event that the watchdog thread acts on.
        """
        self._pool.stop(reason)

    def stop_at(self, moment: float, reason: str) -> None:
        """Stop (as `stop`) when `time.monotonic()` reaches `moment`: the whole run's deadline."""
        self._pool.stop_at(moment, reason)

    @property
    def stopped(self) -> str:
        """Why requests are being refused ("" while they are not)."""
        return self._pool.stop_reason

    @property
    def hosts_down(self) -> dict[str, str]:
        """Hosts whose breaker opened in this run, each with the failure that opened it."""
        return self._pool.hosts_down()

    def __enter__(self) -> Http:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _fetch(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        import requests

        prepared = requests.PreparedRequest()
        try:
            prepared.prepare_url(url, params)
        except requests.RequestException:
            raise FetchError(f"invalid URL {url!r}") from None
        full = prepared.url or url
        merged = {"User-Agent": self.settings.user_agent, **(headers or {})}
        # The slot is held through retries and back-off, so other threads do not pile onto a struggling host.
        with self._pool.slot(urlsplit(full).hostname or ""):
            call = _Call(self._pool, method, full, merged, json, data)
            outcome = call.run()
        if isinstance(outcome, Response):
            self._record(call.transfer(outcome.status, outcome.from_cache, call.revalidated))
            return outcome
        message = call.message(outcome)
        stale = call.cached_copy() if outcome.transient else None
        self._record(call.transfer(outcome.status, stale is not None, False, message))
        if stale is None:
            raise FetchError(message, outcome.status)
        _log.warning("%s; serving the cached copy", message)
        return stale

    def _read_file(self, url: str) -> Response:
        started = time.monotonic()
        path = Path(unquote(urlsplit(url).path))
        content = b""
        error = None
        # `max_bytes` guards against what a server sends; a local file is as large as its owner made it.
        try:
            content = read_regular_file(path)
        except FetchError as exc:
            error = str(exc)
        status = None if error else 200
        self._record(Transfer(url, status, len(content), time.monotonic() - started, False, False, 1, error))
        if error:
            raise FetchError(error)
        return Response(url, 200, content)

    def _record(self, transfer: Transfer) -> None:
        self._pool.record(replace(transfer, source=self.source))


def decode_text(body: bytes, declared: str = "") -> str:
    """Bytes as text: UTF-8 when they are (a BOM is dropped), else the declared charset, else a detected one."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            return body.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(body).best()
    return str(best) if best is not None else body.decode("utf-8", errors="replace")


def _declared_charset(content_type: str) -> str:
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else ""


def read_regular_file(path: Path) -> bytes:
    """A regular file's bytes; a FIFO, device or folder is refused (FetchError) without blocking on it."""
    try:
        return localfile.read_regular_file(path)
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}") from None


@dataclass(frozen=True)
class _Failure:
    """Why one attempt failed: `message` tells it alone, `cause` is the short form after "gave up ..."."""

    message: str
    cause: str
    transient: bool
    status: int | None = None
    retry_after: float | None = None
    # "connect" (no connection made: counts toward the host's breaker), "down" (the breaker is open) or
    # "stopped" (the run is stopping); the last two are never retried.
    kind: str = ""


class _BodyError(Exception):
    """Raised from the response hook so the failure crosses requests and requests-cache unchanged."""

    def __init__(self, failure: _Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class _Call:
    """One logical request: its attempts, waits, deadline and the bytes it received."""

    def __init__(
        self,
        pool: _Pool,
        method: str,
        url: str,
        headers: dict[str, str],
        json: object,
        data: Mapping[str, str] | None = None,
    ) -> None:
        settings = pool.settings
        self.pool = pool
        self.settings = settings
        self.session = pool.session()
        self.host = urlsplit(url).hostname or ""
        # Connections this call is using, for the watchdog to close; `killed` says why it did.
        self.connections: list[Any] = []
        self.killed = ""
        self.method = method
        self.url = url
        self.headers = headers
        self.json = json
        self.data = data
        self.started = time.monotonic()
        self.deadline = self.started + settings.deadline
        self.attempts = 0
        self.waited = 0.0
        self.revalidated = False
        self.reader = _BodyReader(url, settings.max_bytes, self.deadline, settings.deadline)

    def run(self) -> Response | _Failure:
        while True:
            self.attempts += 1
            outcome = self._attempt()
            if isinstance(outcome, Response):
                return outcome
            delay = self._delay(outcome)
            if delay is None:
                return outcome
            _log.debug("%s; retrying in %.2f s", outcome.message, delay)
            self.pool.sleep(delay)
            self.waited += delay

    def message(self, failure: _Failure) -> str:
        if self.attempts == 1:
            return failure.message
        return f"gave up on {self.url} after {self.attempts} attempts ({failure.cause})"

    def transfer(self, status: int | None, from_cache: bool, revalidated: bool, error: str | None = None) -> Transfer:
        duration = time.monotonic() - self.started
        wire_status = 304 if revalidated else status
        return Transfer(
            self.url, wire_status, self.reader.received, duration, from_cache, revalidated, self.attempts, error
        )

    def cached_copy(self) -> Response | None:
        """The last good cached body for this GET, whatever its age (stale-if-error)."""
        import requests
        import requests_cache

        if self.method != "GET" or not isinstance(self.session, requests_cache.CachedSession):
            return None
        request = self.session.prepare_request(requests.Request("GET", self.url, headers=self.headers))
        try:
            cached = self.session.cache.get_response(self.session.cache.create_key(request))
        except sqlite3.Error:
            return None
        if cached is None:
            return None
        return Response(cached.url, cached.status_code, cached.content, cached.headers, from_cache=True, stale=True)

    def _attempt(self) -> Response | _Failure:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return _timed_out(self.url, self.settings.deadline)
        refused = self.pool.refusal(self.host, self.url)
        if refused is not None:
            return refused
        read_timeout = min(self.settings.timeout_read, remaining)
        with self.pool.watching(self):
            outcome = self._send(read_timeout)
        if self.killed:
            outcome = self.pool.refusal(self.host, self.url) or _timed_out(self.url, self.settings.deadline)
        if isinstance(outcome, Response) or outcome.status is not None:
            self.pool.reached(self.host)
        elif outcome.kind == "connect":
            self.pool.strike(self.host, outcome.cause)
        return outcome

    def _send(self, read_timeout: float) -> Response | _Failure:
        import requests
        from requests.structures import CaseInsensitiveDict
        from requests_cache.models.response import CachedResponse

        try:
            reply = self.session.request(
                self.method,
                self.url,
                json=self.json,
                data=self.data,
                headers=self.headers,
                timeout=(self.settings.timeout_connect, read_timeout),
                hooks={"response": self.reader},
                stream=True,
            )
        except _BodyError as exc:
            return exc.failure
        except requests.ConnectTimeout:
            return replace(_timed_out(self.url, self.settings.timeout_connect), kind="connect")
        except requests.Timeout:
            clamped = read_timeout < self.settings.timeout_read
            return _timed_out(self.url, self.settings.deadline if clamped else read_timeout)
        except requests.exceptions.SSLError as exc:
            import ssl

            reason = next((e.reason for e in _chain(exc) if isinstance(e, ssl.SSLError) and e.reason), "handshake")
            cause = f"TLS error with {urlsplit(self.url).hostname} ({reason})"
            return _Failure(f"{cause} fetching {self.url}", cause, False)
        except requests.ConnectionError as exc:
            return _connection_failure(self.url, exc)
        except requests.TooManyRedirects:
            return _Failure(f"too many redirects fetching {self.url}", "too many redirects", False)
        except requests.RequestException as exc:
            return _Failure(f"cannot fetch {self.url} ({type(exc).__name__})", type(exc).__name__, False)
        except sqlite3.Error as exc:
            return _Failure(f"HTTP cache {self.settings.cache} failed: {exc}", "HTTP cache failed", False)
        if reply.status_code >= 400:
            return _status_failure(reply)
        if isinstance(reply, CachedResponse):
            self.revalidated = reply.revalidated
            from_cache = True
        else:
            from_cache = False
        headers = CaseInsensitiveDict(reply.headers)
        return Response(reply.url, reply.status_code, reply.content, headers, from_cache=from_cache)

    def _delay(self, failure: _Failure) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        settings = self.settings
        if not failure.transient or failure.kind in ("down", "stopped") or self.attempts > settings.retries:
            return None
        budget = settings.max_wait - self.waited
        if failure.retry_after is not None:
            delay = failure.retry_after
        else:
            # "Full jitter" spreads the retries of many clients instead of synchronizing them.
            delay = min(random.uniform(0, settings.backoff * 2 ** (self.attempts - 1)), budget)
        if delay > budget or budget <= 0 or time.monotonic() + delay >= self.deadline:
            return None
        return delay


class _BodyReader:
    """A response hook that reads each body within the size cap and the deadline, counting wire bytes.

    requests-cache reads `.content` inside `send()`, so the limits must apply before it does; a response
    hook runs right after the headers arrive and before anything touches the body.
    """

    def __init__(self, url: str, limit: int, deadline: float, deadline_seconds: float) -> None:
        self.url = url
        self.limit = limit
        self.deadline = deadline
        self.deadline_seconds = deadline_seconds
        self.received = 0
        # Held weakly, not by id(): a retry's response can reuse the id of the attempt before it, and would go unread.
        self._read: list[weakref.ref[requests.Response]] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        import requests
        from requests_cache.models.response import CachedResponse

        # requests-cache dispatches hooks again on the response it returns: read each body once.
        if isinstance(response, CachedResponse) or any(seen() is response for seen in self._read):
            return response
        self._read.append(weakref.ref(response))
        try:
            response._content = self._body(response)
            response._content_consumed = True  # type: ignore[attr-defined]
        except (_BodyError, requests.ReadTimeout):
            response.close()
            raise
        finally:
            self.received += response.raw.tell()
        return response

    def _body(self, response: requests.Response) -> bytes:
        import requests
        from urllib3.exceptions import DecodeError, ReadTimeoutError
        from urllib3.exceptions import HTTPError as Urllib3Error

        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.limit:
            raise _BodyError(_too_large(self.url, self.limit))
        chunks: list[bytes] = []
        size = 0
        raw = response.raw
        try:
            # read1 returns as soon as some bytes arrive, so a trickling server cannot outlast the deadline.
            while chunk := raw.read1(CHUNK, decode_content=True):
                size += len(chunk)
                if size > self.limit:
                    raise _BodyError(_too_large(self.url, self.limit))
                if time.monotonic() > self.deadline:
                    raise _BodyError(_timed_out(self.url, self.deadline_seconds))
                chunks.append(chunk)
        except ReadTimeoutError as exc:
            # As requests would raise it for a stalled header, so the caller words both alike.
            raise requests.ReadTimeout(exc) from None
        except DecodeError:
            encoding = response.headers.get("Content-Encoding", "")
            raise _BodyError(
                _Failure(f"cannot decode {encoding} body from {self.url}", "bad encoding", False)
            ) from None
        except (Urllib3Error, OSError):
            cut = f"cut off after {raw.tell()} bytes"
            raise _BodyError(_Failure(f"body from {self.url} {cut}", f"body {cut}", True)) from None
        return b"".join(chunks)


class _Pool:
    """What every handle of one Http shares: settings, per-thread sessions, per-host slots and the log."""

    def __init__(self, settings: HttpSettings, on_transfer: Callable[[Transfer], None] | None) -> None:
        self.settings = settings
        self.on_transfer = on_transfer
        self._lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._transfers: list[Transfer] = []
        self._cache: SQLiteCache | None = None
        self._strikes: dict[str, int] = {}
        self._down: dict[str, str] = {}
        self._calls: set[_Call] = set()
        self._stop = threading.Event()
        self._stop_reason = ""
        self._stop_at: tuple[float, str] | None = None
        self._watchdog: threading.Thread | None = None
        self._closed = threading.Event()

    def session(self) -> requests.Session:
        """This thread's session (requests.Session is not documented thread-safe), all on one cache backend.

        requests-cache's SQLite backend is built to be shared by threads (one connection opened with
        check_same_thread=False, writes serialized by its lock); one connection per thread instead makes
        SQLite itself arbitrate and fails with "database is locked" under a thread pool.
        """
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            with self._lock:
                # Opened with the first session, so a run that reads only local files never loads requests-cache.
                if self._cache is None and self.settings.cache is not None:
                    self._cache = _open_cache(self.settings.cache)
            session = _new_session(self._cache)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        with self._lock:
            slot = self._slots.get(host)
            if slot is None:
                slot = self._slots[host] = threading.BoundedSemaphore(self.settings.host_limit(host))
        with slot:
            yield

    @contextmanager
    def watching(self, call: _Call) -> Iterator[None]:
        """While the block runs, connections `call` opens are closed by the watchdog at its deadline or a stop."""
        _active.call = call
        with self._lock:
            self._calls.add(call)
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, name="twir-events-watchdog", daemon=True)
                self._watchdog.start()
        try:
            yield
        finally:
            _active.call = None
            with self._lock:
                self._calls.discard(call)

    def _watch(self) -> None:
        # Timeouts bound each socket operation, not a request: a server sending a byte every few
        # seconds would hold a request forever. Closing the socket ends any blocked read at once.
        while not self._closed.wait(WATCH_INTERVAL):
            now = time.monotonic()
            if self._stop_at is not None and now >= self._stop_at[0] and not self._stop.is_set():
                self.stop(self._stop_at[1])
            with self._lock:
                calls = [call for call in self._calls if self._stop.is_set() or now >= call.deadline]
            for call in calls:
                call.killed = self._stop_reason or "deadline"
                for connection in list(call.connections):
                    _shut(connection)

    def stop(self, reason: str) -> None:
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()

    def stop_at(self, moment: float, reason: str) -> None:
        self._stop_at = (moment, reason)
        with self._lock:
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, name="twir-events-watchdog", daemon=True)
                self._watchdog.start()

    @property
    def stop_reason(self) -> str:
        return self._stop_reason if self._stop.is_set() else ""

    def sleep(self, seconds: float) -> None:
        """Back-off that a stop cuts short."""
        self._stop.wait(seconds)

    def refusal(self, host: str, url: str) -> _Failure | None:
        """Why a request to `host` must fail at once (the run is stopping, the host is down), else None."""
        if self._stop.is_set():
            return _Failure(f"{self._stop_reason}: not fetching {url}", self._stop_reason, False, kind="stopped")
        with self._lock:
            cause = self._down.get(host)
        if cause is None:
            return None
        message = f"{host} is down in this run ({cause}); not fetching {url}"
        return _Failure(message, f"{host} is down", True, kind="down")

    def strike(self, host: str, cause: str) -> None:
        """Count a connection-level failure; enough in a row open the host's breaker."""
        with self._lock:
            self._strikes[host] = self._strikes.get(host, 0) + 1
            if self._strikes[host] >= self.settings.breaker_failures:
                self._down.setdefault(host, f"{cause}, {self._strikes[host]} times in a row")

    def reached(self, host: str) -> None:
        with self._lock:
            self._strikes[host] = 0

    def hosts_down(self) -> dict[str, str]:
        with self._lock:
            return dict(self._down)

    def record(self, transfer: Transfer) -> None:
        with self._lock:
            self._transfers.append(transfer)
        if self.on_transfer is not None:
            self.on_transfer(transfer)

    def snapshot(self, source: str | None) -> list[Transfer]:
        with self._lock:
            return [t for t in self._transfers if source is None or t.source == source]

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            sessions, self._sessions = self._sessions, []
        self._local = threading.local()
        for session in sessions:
            session.close()
        if self._cache is not None:
            self._cache.close()  # type: ignore[no-untyped-call]  # requests-cache leaves it unannotated


def _open_cache(path: Path) -> SQLiteCache:
    from requests_cache.backends.sqlite import SQLiteCache

    path.parent.mkdir(parents=True, exist_ok=True)
    cache = SQLiteCache(path, wal=True, busy_timeout=SQLITE_BUSY_MS)
    responses = cache.responses
    # Housekeeping only: a cache that cannot be pruned now still serves this run.
    with suppress(sqlite3.Error), responses.connection(commit=True) as connection:
        cutoff = round(time.time() - UNUSED_FOR.total_seconds())
        connection.execute(f"DELETE FROM {responses.table_name} WHERE expires < ?", (cutoff,))
    return cache


def _new_session(cache: SQLiteCache | None) -> requests.Session:
    plain, cached = _session_classes()
    session = (
        plain()
        if cache is None
        else cached(
            backend=cache,
            cache_control=True,
            always_revalidate=True,
            expire_after=EXPIRE_AT_ONCE,
            # A POST is cached only when its caller allows it (Http.post's `cache`); requests-cache reads a
            # request's `Cache-Control: no-store` as "neither read nor write", and leaves Authorization out of keys.
            allowable_methods=("GET", "POST"),
            autoclose=False,
        )
    )
    adapter = _watched_adapter()
    session.mount("http://", adapter())
    session.mount("https://", adapter())
    return session


# The call this thread is making, so its connections can be handed to the watchdog as they are used.
_active = threading.local()
WATCH_INTERVAL = 0.2


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


@cache
def _session_classes() -> tuple[type[requests.Session], type[requests_cache.CachedSession]]:
    """requests.Session and CachedSession, each reading the proxy and CA settings of the environment once per origin.

    requests reads them again for every request (walking the whole environment twice, about 0.1 ms); the
    environment does not change during a run, and a session serves one thread, so a plain dict is enough.
    """
    import requests
    import requests_cache

    class EnvironmentOnce(requests.Session):
        def __init__(self) -> None:
            super().__init__()
            self._environment: dict[tuple[Any, ...], Any] = {}

        def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
            if proxies:
                return super().merge_environment_settings(url, proxies, stream, verify, cert)
            origin = urlsplit(url.decode() if isinstance(url, bytes) else url or "")[:2]
            key = (origin, stream, verify, cert)
            if key not in self._environment:
                self._environment[key] = super().merge_environment_settings(url, {}, stream, verify, cert)
            settings = self._environment[key]
            return {**settings, "proxies": dict(settings["proxies"])}

    class CachedEnvironmentOnce(requests_cache.CachedSession, EnvironmentOnce):
        pass

    return EnvironmentOnce, CachedEnvironmentOnce


@cache
def _watched_adapter() -> type[requests.adapters.HTTPAdapter]:
    """An HTTPAdapter whose connections register with the calling thread's call before each request."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.poolmanager import PoolManager

    def register(connection: HTTPConnection) -> None:
        call = getattr(_active, "call", None)
        if call is not None:
            call.connections.append(connection)

    class WatchedHTTPConnection(HTTPConnection):
        def request(self, *args: Any, **kwargs: Any) -> None:
            register(self)
            super().request(*args, **kwargs)

    class WatchedHTTPSConnection(HTTPSConnection):
        def request(self, *args: Any, **kwargs: Any) -> None:
            register(self)
            super().request(*args, **kwargs)

    class WatchedPool(HTTPConnectionPool):
        ConnectionCls = WatchedHTTPConnection

    class WatchedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPSConnection

    def watched(manager: PoolManager) -> PoolManager:
        manager.pool_classes_by_scheme = {"http": WatchedPool, "https": WatchedHTTPSPool}
        return manager

    class WatchedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            watched(self.poolmanager)

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> PoolManager:
            return watched(super().proxy_manager_for(proxy, **kwargs))

    return WatchedAdapter


def _timed_out(url: str, seconds: float) -> _Failure:
    return _Failure(f"timed out after {seconds:g} s fetching {url}", f"timed out after {seconds:g} s", True)


def _too_large(url: str, limit: int) -> _Failure:
    return _Failure(f"response from {url} exceeds {_size(limit)}", f"exceeds {_size(limit)}", False)


def _status_failure(reply: requests.Response) -> _Failure:
    status = reply.status_code
    transient = status == 429 or status >= 500
    retry_after = _retry_after(reply.headers.get("Retry-After", "")) if transient else None
    reply.close()
    message = f"HTTP {status} from {reply.url}"
    if retry_after is not None:
        message += f" (asked to retry after {retry_after:g} s)"
    return _Failure(message, f"HTTP {status}", transient, status, retry_after)


def _retry_after(value: str) -> float | None:
    """Seconds from a Retry-After header (delay-seconds or HTTP-date); None when absent or malformed."""
    if not value:
        return None
    from urllib3.exceptions import InvalidHeader
    from urllib3.util.retry import Retry

    try:
        return Retry().parse_retry_after(value)
    except InvalidHeader:
        return None


def _connection_failure(url: str, exc: requests.ConnectionError) -> _Failure:
    import http.client

    host = urlsplit(url).hostname or url
    causes = _chain(exc)

    def seen(*kinds: type[BaseException]) -> bool:
        return any(isinstance(cause, kinds) for cause in causes)

    if seen(ConnectionRefusedError):
        cause = f"connection refused by {host}"
        return _Failure(f"{cause} fetching {url}", cause, True, kind="connect")
    if seen(socket.gaierror):
        cause = f"cannot resolve host {host}"
        return _Failure(f"{cause} fetching {url}", cause, True, kind="connect")
    if seen(http.client.RemoteDisconnected):
        cause = f"{host} closed the connection without replying"
    elif seen(http.client.HTTPException):
        cause = f"{host} replied with something that is not HTTP"
    elif seen(ConnectionResetError):
        cause = f"connection reset by {host}"
    else:
        cause = f"cannot connect to {host} ({type(causes[-1]).__name__})"
        return _Failure(f"{cause} fetching {url}", cause, True, kind="connect")
    return _Failure(f"{cause} fetching {url}", cause, True)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything nested in it (args, urllib3's `reason`, causes), outermost first."""
    found: list[BaseException] = []
    pending: list[object] = [exc]
    while pending:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or any(current is seen for seen in found):
            continue
        found.append(current)
        pending.extend([*current.args, getattr(current, "reason", None), current.__cause__, current.__context__])
    return found


def _size(limit: int) -> str:
    return f"{limit / MB:.3g} MB" if limit >= MB else f"{limit} bytes"


def http_settings_from_table(table: Table, default_cache: str = "") -> HttpSettings:
    """Read the `[http]` table strictly: every key is optional, wrong types and unknown keys are ConfigErrors."""
    defaults = HttpSettings()
    contact = table.str("user_agent_contact", defaults.user_agent_contact)
    if not contact.startswith(("https://", "http://", "mailto:")):
        raise table.error("user_agent_contact", f"expected an http(s) or mailto: URL, got {contact!r}")
    cache = table.str("cache", default_cache)
    settings = HttpSettings(
        user_agent_contact=contact,
        timeout_connect=_number(table, "timeout_connect", defaults.timeout_connect, positive=True),
        timeout_read=_number(table, "timeout_read", defaults.timeout_read, positive=True),
        deadline=_number(table, "deadline", defaults.deadline, positive=True),
        retries=table.int("retries", defaults.retries, minimum=0, maximum=10),
        backoff=_number(table, "backoff", defaults.backoff, positive=False),
        max_wait=_number(table, "max_wait", defaults.max_wait, positive=False),
        max_bytes=table.int("max_bytes", defaults.max_bytes, minimum=1, maximum=1024 * MB),
        per_host=table.int("per_host", defaults.per_host, minimum=1, maximum=64),
        breaker_failures=table.int("breaker_failures", defaults.breaker_failures, minimum=1, maximum=100),
        host_limits=_host_limits(table),
        cache=table.file.parent / cache if cache else None,
    )
    table.finish()
    return settings


def _number(table: Table, key: str, default: float, *, positive: bool) -> float:
    """Seconds: finite, at most an hour, and above 0 when `positive`."""
    value = table.float(key, default, maximum=MAX_SECONDS)
    if value < 0 or (positive and value == 0):
        raise table.error(key, f"must be {'greater than' if positive else 'at least'} 0, got {value:g}")
    return value


def _host_limits(table: Table) -> dict[str, int]:
    limits = table.table("host_limits", {})
    result = {}
    for host, value in limits.data.items():
        if isinstance(value, dict):
            raise limits.error(host, f'quote host names that contain dots, as in "{_dotted(host, value)}" = 2')
        if not host or any(c in host for c in "/: "):
            raise limits.error(host, f"expected a bare host name like www.meetup.com, got {host!r}")
        result[host.lower()] = limits.int(host, minimum=1, maximum=64)
    limits.finish()
    return result


def _dotted(name: str, value: object) -> str:
    """The dotted key TOML split into nested tables: `www.meetup.com = 2` gives {"www": {"meetup": {"com": 2}}}."""
    while isinstance(value, dict) and len(value) == 1:
        key, value = next(iter(value.items()))
        name = f"{name}.{key}"
    return name
