"""One place where sources get bytes: http(s) through requests, file:// from disk."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests

DEFAULT_USER_AGENT = "twir-events (+https://github.com/twir-events/twir-events)"
MAX_BYTES = 20 * 1024 * 1024


class FetchError(Exception):
    """A request failed; the message is one line (status, timeout, refused, too large...)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Response:
    """A fetched body with what callers need to know about it."""

    url: str
    status: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


@dataclass
class Http:
    """A requests session with timeouts, a size cap and an honest User-Agent."""

    user_agent: str = DEFAULT_USER_AGENT
    timeout: tuple[float, float] = (5.0, 20.0)
    max_bytes: int = MAX_BYTES
    session: requests.Session = field(default_factory=requests.Session)

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        if url.startswith("file://"):
            return _read_file(url, self.max_bytes)
        return self._send("GET", url, params=params, headers=headers)

    def post(
        self,
        url: str,
        *,
        json: object = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """POST a JSON body (GraphQL APIs) or a form (OAuth token exchanges); never cached."""
        return self._send("POST", url, json=json, data=data, headers=headers)

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        merged = {"User-Agent": self.user_agent, **(headers or {})}
        try:
            reply = self.session.request(
                method, url, params=params, json=json, data=data, headers=merged, timeout=self.timeout, stream=True
            )
        except requests.Timeout:
            raise FetchError(f"timed out fetching {url}") from None
        except requests.ConnectionError as exc:
            raise FetchError(f"cannot connect to {url}: {type(exc).__name__}") from None
        with reply:
            if reply.status_code >= 400:
                raise FetchError(f"HTTP {reply.status_code} from {reply.url}", reply.status_code)
            body = _read_capped(reply, self.max_bytes)
        return Response(reply.url, reply.status_code, body, dict(reply.headers))


def _read_capped(reply: requests.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in reply.iter_content(65536):
            size += len(chunk)
            if size > limit:
                raise FetchError(f"response from {reply.url} is larger than {limit} bytes")
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise FetchError(f"body from {reply.url} was cut off: {type(exc).__name__}") from None
    return b"".join(chunks)


def _read_file(url: str, limit: int) -> Response:
    path = Path(unquote(urlsplit(url).path))
    try:
        size = path.stat().st_size
        if size > limit:
            raise FetchError(f"{path} is larger than {limit} bytes")
        return Response(url, 200, path.read_bytes())
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}") from None
