"""The fetcher against a real HTTP server on loopback: validators, caps, redirects, the address guard."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.config import FetchSettings
from bot.errors import FeedError, FetchRefusedError
from bot.ingest.fetch import Fetcher, HTTPStatusError, address_problem

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title></channel></rss>"


async def feed(request: web.Request) -> web.Response:
    if request.headers.get("If-None-Match") == '"v1"':
        return web.Response(status=304)
    return web.Response(body=FEED, headers={"ETag": '"v1"', "Content-Type": "application/rss+xml"})


async def gz(request: web.Request) -> web.Response:
    return web.Response(body=gzip.compress(FEED), headers={"Content-Encoding": "gzip"})


async def huge(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse()
    await resp.prepare(request)
    for _ in range(64):
        await resp.write(b"x" * 65536)
    return resp


async def loop(request: web.Request) -> web.Response:
    raise web.HTTPFound("/loop")


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(5)
    return web.Response(body=FEED)


async def broken(request: web.Request) -> web.Response:
    return web.Response(status=500, reason="Internal Server Error")


async def slow_hop(request: web.Request) -> web.Response:
    # five redirects, each answered after 0.4 s: 2.4 s in all, each hop well inside a 1 s timeout
    n = int(request.match_info["n"])
    await asyncio.sleep(0.4)
    if n < 5:
        raise web.HTTPFound(f"/hop/{n + 1}")
    return web.Response(body=FEED)


async def to_private(request: web.Request) -> web.Response:
    raise web.HTTPFound("http://10.0.0.1/feed")


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    app = web.Application()
    for path, handler in (
        ("/feed", feed),
        ("/gz", gz),
        ("/huge", huge),
        ("/loop", loop),
        ("/slow", slow),
        ("/broken", broken),
        ("/to-private", to_private),
        ("/hop/{n}", slow_hop),
    ):
        app.router.add_get(path, handler)
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    yield srv
    await srv.close()


def fetcher(**kw: object) -> Fetcher:
    base: dict[str, object] = {"allow_private_networks": True, "timeout_seconds": 2.0}
    base.update(kw)
    return Fetcher(FetchSettings(**base))  # type: ignore[arg-type]


async def test_etag_then_304(server: TestServer) -> None:
    f = fetcher()
    first = await f.fetch(str(server.make_url("/feed")))
    assert (first.status, first.body, first.etag) == (200, FEED, '"v1"')
    second = await f.fetch(str(server.make_url("/feed")), etag=first.etag)
    assert (second.status, second.body) == (304, None)
    await f.close()


async def test_gzip_is_decoded(server: TestServer) -> None:
    f = fetcher()
    assert (await f.fetch(str(server.make_url("/gz")))).body == FEED
    await f.close()


async def test_body_cap_redirect_loop_timeout_and_http_errors(server: TestServer) -> None:
    f = fetcher(max_body_bytes=1024 * 1024)
    with pytest.raises(FeedError, match=r"larger than the 1 MiB cap"):
        await f.fetch(str(server.make_url("/huge")))
    with pytest.raises(FeedError, match="more than 5 redirects"):
        await f.fetch(str(server.make_url("/loop")))
    with pytest.raises(FeedError, match="no complete answer within 0.5 s"):
        await fetcher(timeout_seconds=0.5).fetch(str(server.make_url("/slow")))
    with pytest.raises(FeedError, match="HTTP 500 Internal Server Error"):
        await f.fetch(str(server.make_url("/broken")))
    await f.close()


async def test_the_timeout_bounds_the_whole_fetch_redirects_included(server: TestServer) -> None:
    loop = asyncio.get_running_loop()
    patient, hurried = fetcher(timeout_seconds=5), fetcher(timeout_seconds=1)
    assert (await patient.fetch(str(server.make_url("/hop/0")))).body == FEED
    started = loop.time()
    with pytest.raises(FeedError, match=r"/hop/2: no complete answer within 1 s \(fetch.timeout_seconds\)"):
        await hurried.fetch(str(server.make_url("/hop/0")))
    assert loop.time() - started < 1.5  # not 2.4 s: one budget for every hop
    await patient.close()
    await hurried.close()


async def test_guard_refuses_loopback_names_literals_and_redirects(server: TestServer) -> None:
    guarded = fetcher(allow_private_networks=False)
    port = server.port
    with pytest.raises(FetchRefusedError, match="127.0.0.1 is a loopback address"):
        await guarded.fetch(f"http://127.0.0.1:{port}/feed")
    with pytest.raises(FetchRefusedError, match="localhost resolves to .* loopback address"):
        await guarded.fetch(f"http://localhost:{port}/feed")
    with pytest.raises(FetchRefusedError, match=r"\[?::1\]? is a loopback address|::1 is a loopback"):
        await guarded.fetch(f"http://[::1]:{port}/feed")
    with pytest.raises(FetchRefusedError, match="169.254.169.254 is a link-local address"):
        await guarded.fetch("http://169.254.169.254/latest/meta-data")
    await guarded.close()


async def test_a_permitted_host_redirecting_to_a_private_address_is_refused(server: TestServer) -> None:
    # loopback stands in for a public host: exempt it, and the redirect to 10.0.0.1 must still be refused
    f = Fetcher(
        FetchSettings(allow_private_networks=False, timeout_seconds=2.0), exempt=(ipaddress.ip_network("127.0.0.0/8"),)
    )
    assert (await f.fetch(str(server.make_url("/feed")))).status == 200
    with pytest.raises(FetchRefusedError, match="http://10.0.0.1/feed: refused: 10.0.0.1 is a private address"):
        await f.fetch(str(server.make_url("/to-private")))
    await f.close()


def test_address_problem_classifies() -> None:
    assert address_problem("10.1.2.3") == "10.1.2.3 is a private address"
    assert address_problem("::ffff:127.0.0.1") == "::ffff:127.0.0.1 is a loopback address"
    assert address_problem("224.0.0.1") == "224.0.0.1 is a multicast address"
    assert address_problem("93.184.215.14") is None
    assert address_problem("100.100.100.200") == "100.100.100.200 is not a public address"  # CGNAT / metadata
    assert address_problem("2002:a9fe:a9fe::1") == "2002:a9fe:a9fe::1 is a link-local address"  # 6to4
    assert address_problem("2001:4860:4860::8888") is None


async def test_schemes_and_local_files(tmp_path: object) -> None:
    f = fetcher(allow_local_files=False)
    with pytest.raises(FetchRefusedError, match='scheme "ftp" is not fetched'):
        await f.fetch("ftp://example.org/feed")
    with pytest.raises(FetchRefusedError, match="reading local files is off"):
        await f.fetch("/etc/passwd")
    with pytest.raises(FeedError, match="cannot read the file"):
        await fetcher(allow_local_files=True).fetch("/nonexistent/feed.xml")


async def test_429_and_503_carry_retry_after_and_content_length_over_the_cap_stops_early() -> None:
    async def limited(request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": "120"})

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * (2 * 1024 * 1024))

    app = web.Application()
    app.router.add_get("/limited", limited)
    app.router.add_get("/big", big)
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    f = fetcher(max_body_bytes=1024 * 1024)
    with pytest.raises(HTTPStatusError, match="HTTP 429 Too Many Requests; it asked to wait 120") as info:
        await f.fetch(str(srv.make_url("/limited")))
    assert (info.value.status, info.value.retry_after) == (429, "120")
    with pytest.raises(FeedError, match="announces 2097152 bytes, over the 1 MiB cap"):
        await f.fetch(str(srv.make_url("/big")))
    await f.close()
    await srv.close()


async def test_per_host_and_global_caps_bound_requests_in_flight() -> None:
    in_flight = {"now": 0, "peak": 0}

    async def handler(request: web.Request) -> web.Response:
        in_flight["now"] += 1
        in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
        await asyncio.sleep(0.05)
        in_flight["now"] -= 1
        return web.Response(body=FEED)

    app = web.Application()
    app.router.add_get("/{n}", handler)
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    for kw, peak in (({"max_per_host": 2, "max_concurrency": 20}, 2), ({"max_per_host": 3, "max_concurrency": 3}, 3)):
        in_flight["peak"] = 0
        f = fetcher(**kw)
        await asyncio.gather(*(f.fetch(str(srv.make_url(f"/{i}"))) for i in range(12)))
        assert in_flight["peak"] == peak
        assert f._hosts == {}  # no semaphore is kept for a host with nothing in flight
        await f.close()
    await srv.close()
