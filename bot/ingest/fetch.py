"""Fetch feed documents: http(s) through one aiohttp session, or local files for demos.

Guarded: only http and https (regular local files only where the config allows), no private,
loopback, link-local, multicast or reserved address unless allowed: bot.ingest.guard checks
the socket address itself at connect time, for every host form and on every redirect hop.
Conditional GET, a body cap and one timeout for the whole fetch (redirects included, local
files too), a redirect limit, and at most fetch.max_concurrency requests in flight
(fetch.max_per_host to any one host).

aiohttp (a seventh of a second to import) is imported at the first http(s) fetch: the bundled
demo feeds, `newsbot cmd`, `feeds list` and a digest without a poll fetch nothing over HTTP.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.config import FetchSettings, is_bundled_feed
from bot.errors import FeedError, FetchRefusedError
from bot.ingest import guard
from bot.ingest.guard import AddressGuard, BadURL, Network, RefusedAddress, address_problem, client_url, normalise_url

if TYPE_CHECKING:
    import aiohttp

__all__ = ["MAX_REDIRECTS", "FetchResult", "Fetcher", "HTTPStatusError", "Network", "address_problem"]

MAX_REDIRECTS = 5
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_REDIRECTS = {301, 302, 303, 307, 308}
_ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.9, */*;q=0.5"


class HTTPStatusError(FeedError):
    """The server answered with an error status; `retry_after` is its Retry-After header, if any."""

    def __init__(self, url: str, status: int, reason: str, retry_after: str | None = None) -> None:
        wait = f"; it asked to wait {retry_after.strip()} before trying again" if retry_after else ""
        super().__init__(url, f"the server answered HTTP {status} {reason}".rstrip() + wait)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchResult:
    """A fetched document, or `status == 304` with no body when it has not changed."""

    url: str  # where the body came from after redirects
    status: int
    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] | None = None


class Fetcher:
    """One shared HTTP session for every feed; create once, close at shutdown."""

    def __init__(self, settings: FetchSettings, exempt: tuple[Network, ...] = ()) -> None:
        self.settings = settings
        # networks the guard lets through, e.g. a known intranet feed server (and the tests' hook)
        self.exempt = exempt + guard.TEST_PUBLIC_NETWORKS
        self._session: aiohttp.ClientSession | None = None
        self._all: asyncio.Semaphore | None = None
        self._hosts: dict[str, tuple[asyncio.Semaphore, int]] = {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            import aiohttp  # at the first http(s) fetch (see the module docstring)

            checker = None if self.settings.allow_private_networks else AddressGuard(self.exempt)
            # The caps live in `_slot`, not in the connector: waiting for a pooled connection
            # counts against aiohttp's total timeout, so a queue behind one slow host would
            # time out feeds that never got to send a request.
            connector = aiohttp.TCPConnector(
                limit=0, ttl_dns_cache=300, socket_factory=checker.socket_factory if checker else None
            )
            self._session = aiohttp.ClientSession(
                # feeds are independent sites: no cookie from one may reach another, nor pile up
                cookie_jar=aiohttp.DummyCookieJar(),
                connector=connector,
                headers={"User-Agent": self.settings.user_agent, "Accept": _ACCEPT},
            )
        return self._session

    def _slot(self, host: str) -> AbstractAsyncContextManager[Any]:
        """Hold one of the host's request slots, then one of the global ones."""
        if self._all is None:
            self._all = asyncio.Semaphore(self.settings.max_concurrency)
        if self.settings.max_per_host >= self.settings.max_concurrency:
            return self._all  # the host cap cannot bind: the global queue alone
        return self._host_then_global(host, self._all)

    @asynccontextmanager
    async def _host_then_global(self, host: str, everyone: asyncio.Semaphore) -> AsyncIterator[None]:
        host_limit, users = self._hosts.get(host) or (asyncio.Semaphore(self.settings.max_per_host), 0)
        self._hosts[host] = (host_limit, users + 1)
        try:
            # Host first: a request queued behind a busy host must not hold a global slot.
            async with host_limit, everyone:
                yield
        finally:
            _, users = self._hosts[host]
            if users <= 1:
                del self._hosts[host]  # one entry per host in use, not per host ever seen
            else:
                self._hosts[host] = (host_limit, users - 1)

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """Fetch `url`; raises FeedError (FetchRefusedError for guarded targets) with the reason."""
        scheme = _scheme(url)
        if scheme in ("http", "https"):
            return await self._fetch_http(url, etag, last_modified)
        if scheme in ("", "file"):
            return await self._fetch_file(url)
        raise FetchRefusedError(url, f'the scheme "{scheme}" is not fetched; use an http or https URL')

    async def _fetch_file(self, url: str) -> FetchResult:
        path = url.removeprefix("file://")
        if not self.settings.allow_local_files and not is_bundled_feed(path):
            raise FetchRefusedError(url, "reading local files is off; set fetch.allow_local_files = true")
        try:
            # the same bound as a download: a file on a hung network mount must not hold the poll
            data = await asyncio.wait_for(asyncio.to_thread(self._read_file, url, path), self.settings.timeout_seconds)
        except TimeoutError:
            raise FeedError(url, self._timeout_text()) from None
        return FetchResult(url=url, status=200, body=data)

    def _read_file(self, url: str, path: str) -> bytes:
        """The file's bytes, if it is a regular file within the body cap."""
        try:
            # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise FeedError(url, f"cannot read the file: {exc.strerror or exc}") from None
        with os.fdopen(fd, "rb") as fh:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise FetchRefusedError(
                    url, f"is {_file_kind(mode)}, not a regular file; a local feed must be an ordinary file"
                )
            try:
                data = fh.read(self.settings.max_body_bytes + 1)
            except OSError as exc:
                raise FeedError(url, f"cannot read the file: {exc.strerror or exc}") from None
        if len(data) > self.settings.max_body_bytes:
            raise FeedError(url, f"the file is larger than the {self._cap_mb()} MiB cap (fetch.max_body_mb)")
        return data

    def _check_target(self, url: str) -> str:
        """The host the HTTP client will use for `url` (normalised as it does), if it may be fetched.

        Only the form of the URL is judged here; the address itself is checked by the guard when
        the connection is made. A literal private address is refused here already, with the same
        message the guard would give.
        """
        scheme = _scheme(url)
        if scheme not in ("http", "https"):
            raise FetchRefusedError(url, f'redirected to the scheme "{scheme}", which is not fetched')
        try:
            host = normalise_url(url).raw_host or ""
        except BadURL as exc:
            raise FetchRefusedError(url, str(exc)) from None
        if not self.settings.allow_private_networks:
            try:
                problem = address_problem(host, self.exempt)
            except ValueError:
                problem = None  # a name: the guard checks what it resolves to
            if problem:
                raise FetchRefusedError(url, _refusal(host, problem))
        return host

    async def _fetch_http(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        import aiohttp  # at the first http(s) fetch (see the module docstring)

        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        host = ""
        deadline: float | None = None  # set when the first request starts: queueing for a slot is not fetching
        loop = asyncio.get_running_loop()
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                host = self._check_target(current)
                async with self._slot(host):
                    if deadline is None:
                        deadline = loop.time() + self.settings.timeout_seconds
                    left = deadline - loop.time()
                    if left <= 0:
                        raise TimeoutError
                    # one budget for the whole fetch: every hop gets what the earlier ones left
                    timeout = aiohttp.ClientTimeout(total=left, sock_connect=min(10.0, left))
                    async with self._client().get(
                        current, headers=headers, allow_redirects=False, timeout=timeout
                    ) as resp:
                        if resp.status in _REDIRECTS and "Location" in resp.headers:
                            current = _redirect_target(current, resp.headers["Location"])
                            continue
                        return await self._read(current, resp)
            raise FeedError(url, f"more than {MAX_REDIRECTS} redirects; check the feed URL")
        except RefusedAddress as exc:
            raise FetchRefusedError(current, _refusal(host, exc.problem)) from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, RefusedAddress):
                raise FetchRefusedError(current, _refusal(host, exc.os_error.problem)) from None
            raise FeedError(current, f"cannot connect: {exc.os_error.strerror or exc.os_error}") from None
        except TimeoutError:
            raise FeedError(current, self._timeout_text()) from None
        except UnicodeError:  # raised by the resolver for a name IDNA cannot encode
            raise FetchRefusedError(current, "the host name is not a valid internationalised name") from None
        except aiohttp.InvalidURL as exc:
            raise FetchRefusedError(current, f"the URL cannot be fetched: {exc}") from None
        except aiohttp.ClientError as exc:
            raise FeedError(current, f"HTTP error: {exc}") from None

    def _timeout_text(self) -> str:
        return f"no complete answer within {self.settings.timeout_seconds:g} s (fetch.timeout_seconds)"

    async def _read(self, url: str, resp: aiohttp.ClientResponse) -> FetchResult:
        meta: dict[str, Any] = {
            "etag": resp.headers.get("ETag"),
            "last_modified": resp.headers.get("Last-Modified"),
            "headers": {k.lower(): v for k, v in resp.headers.items()},
        }
        if resp.status == 304:
            return FetchResult(url=url, status=304, body=None, **meta)
        if resp.status >= 400:
            retry = resp.headers.get("Retry-After") if resp.status in (429, 503) else None
            raise HTTPStatusError(url, resp.status, resp.reason or "", retry)
        declared = resp.content_length
        if declared is not None and declared > self.settings.max_body_bytes:
            raise FeedError(
                url, f"the server announces {declared} bytes, over the {self._cap_mb()} MiB cap (fetch.max_body_mb)"
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > self.settings.max_body_bytes:
                raise FeedError(url, f"the body is larger than the {self._cap_mb()} MiB cap (fetch.max_body_mb)")
            chunks.append(chunk)
        return FetchResult(url=url, status=resp.status, body=b"".join(chunks), **meta)

    def _cap_mb(self) -> str:
        return f"{self.settings.max_body_bytes / 1024 / 1024:.3g}"


def _redirect_target(current: str, location: str) -> str:
    """The URL a redirect points at, joined by yarl as the client would (urljoin chokes on some hosts)."""
    try:
        target = client_url(location)
        return str(target if target.absolute else client_url(current).join(target))
    except (ValueError, UnicodeError):
        raise FetchRefusedError(current, "redirected to a URL that cannot be read") from None


def _scheme(url: str) -> str:
    # not urlsplit: it raises on a bracketed host it cannot read ("[::１]"), which yarl maps
    m = _SCHEME.match(url)
    return m.group(1).lower() if m else ""


def _refusal(host: str, problem: str) -> str:
    """The one message for a refused target: the same whether or not anything listens there."""
    try:
        address_problem(host)
        named = ""
    except ValueError:
        named = f"{host} resolves to an address that is not allowed: "
    return f"refused: {named}{problem} (set fetch.allow_private_networks = true only if you trust every feed URL)"


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"
