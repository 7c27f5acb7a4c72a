"""Fetch feed documents: http(s) through one aiohttp session, or local files for demos.

Guarded: only http and https (files only where the config allows), no private,
loopback, link-local, multicast or reserved address unless allowed, checked for
literal IPs on every hop and for names inside the resolver at connect time.
Conditional GET, a streamed body cap, a redirect limit and timeouts on every call, and
at most fetch.max_concurrency requests in flight (fetch.max_per_host to any one host).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

from bot.config import FetchSettings
from bot.errors import FeedError, FetchRefusedError

MAX_REDIRECTS = 5
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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def address_problem(address: str, exempt: tuple[Network, ...] = ()) -> str | None:
    """Why `address` may not be fetched from, or None when it is public (or in an `exempt` network)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        # an IPv4 address wrapped in IPv6 (mapped, 6to4, Teredo) is judged as the IPv4 address
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None:
            ip = inner
    if any(ip in net for net in exempt):
        return None
    # most specific first: link-local and loopback ranges also count as "private"
    for attr, why in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_private", "private"),
        ("is_multicast", "multicast"),
        ("is_reserved", "reserved"),
        ("is_unspecified", "unspecified"),
    ):
        if getattr(ip, attr):
            return f"{address} is a {why} address"
    if not ip.is_global:
        # shared (carrier-grade NAT, 100.64.0.0/10, where some clouds keep their metadata service)
        # and other special-purpose ranges
        return f"{address} is not a public address"
    return None


class _RefusedAddress(OSError):
    """Raised inside the resolver; an OSError so aiohttp passes it up as a connection error."""


class GuardedResolver(ThreadedResolver):
    """Resolves names, then refuses the connection if any address is not public."""

    def __init__(self, exempt: tuple[Network, ...] = ()) -> None:
        super().__init__()
        self.exempt = exempt

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await super().resolve(host, port, family)
        for result in results:
            problem = address_problem(result["host"], self.exempt)
            if problem:
                raise _RefusedAddress(f"{host} resolves to {problem}")
        return results


class Fetcher:
    """One shared HTTP session for every feed; create once, close at shutdown."""

    def __init__(self, settings: FetchSettings, exempt: tuple[Network, ...] = ()) -> None:
        self.settings = settings
        self.exempt = exempt  # networks the guard lets through, e.g. a known intranet feed server
        self._session: aiohttp.ClientSession | None = None
        self._all: asyncio.Semaphore | None = None
        self._hosts: dict[str, tuple[asyncio.Semaphore, int]] = {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            resolver = None if self.settings.allow_private_networks else GuardedResolver(self.exempt)
            # The caps live in `_slot`, not in the connector: waiting for a pooled connection
            # counts against aiohttp's total timeout, so a queue behind one slow host would
            # time out feeds that never got to send a request.
            connector = aiohttp.TCPConnector(resolver=resolver, limit=0, ttl_dns_cache=300)
            timeout = aiohttp.ClientTimeout(
                total=self.settings.timeout_seconds, sock_connect=min(10.0, self.settings.timeout_seconds)
            )
            self._session = aiohttp.ClientSession(
                # feeds are independent sites: no cookie from one may reach another, nor pile up
                cookie_jar=aiohttp.DummyCookieJar(),
                connector=connector,
                timeout=timeout,
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
        scheme = urlsplit(url).scheme.lower()
        if scheme in ("http", "https"):
            return await self._fetch_http(url, etag, last_modified)
        if scheme in ("", "file"):
            return await self._fetch_file(url)
        raise FetchRefusedError(url, f'the scheme "{scheme}" is not fetched; use an http or https URL')

    async def _fetch_file(self, url: str) -> FetchResult:
        if not self.settings.allow_local_files:
            raise FetchRefusedError(url, "reading local files is off; set fetch.allow_local_files = true")
        path = Path(url.removeprefix("file://"))
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise FeedError(url, f"cannot read the file: {exc.strerror or exc}") from None
        if len(data) > self.settings.max_body_bytes:
            raise FeedError(url, f"the file is larger than the {self._cap_mb()} MiB cap (fetch.max_body_mb)")
        return FetchResult(url=url, status=200, body=data)

    def _check_target(self, url: str) -> str:
        """The URL's host (lower-case) when it may be fetched; FetchRefusedError otherwise."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise FetchRefusedError(url, f'redirected to the scheme "{parts.scheme}", which is not fetched')
        host = parts.hostname or ""
        if not host:
            raise FetchRefusedError(url, "the URL has no host")
        if self.settings.allow_private_networks:
            return host
        try:
            problem = address_problem(host, self.exempt)
        except ValueError:
            return host  # a name: the resolver checks what it resolves to
        if problem:
            raise FetchRefusedError(
                url, f"refused: {problem} (set fetch.allow_private_networks = true only if you trust every feed URL)"
            )
        return host

    async def _fetch_http(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                host = self._check_target(current)
                async with (
                    self._slot(host),
                    self._client().get(current, headers=headers, allow_redirects=False) as resp,
                ):
                    if resp.status in _REDIRECTS and "Location" in resp.headers:
                        current = urljoin(current, resp.headers["Location"])
                        continue
                    return await self._read(current, resp)
            raise FeedError(url, f"more than {MAX_REDIRECTS} redirects; check the feed URL")
        except _RefusedAddress as exc:
            raise FetchRefusedError(current, f"refused: {exc}") from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, _RefusedAddress):
                raise FetchRefusedError(current, f"refused: {exc.os_error}") from None
            raise FeedError(current, f"cannot connect: {exc.os_error.strerror or exc.os_error}") from None
        except TimeoutError:
            raise FeedError(
                current, f"no complete answer within {self.settings.timeout_seconds:g} s (fetch.timeout_seconds)"
            ) from None
        except aiohttp.ClientError as exc:
            raise FeedError(current, f"HTTP error: {exc}") from None

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
        return f"{self.settings.max_body_bytes / 1024 / 1024:g}"
