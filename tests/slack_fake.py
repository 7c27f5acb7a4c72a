"""A fake Slack on 127.0.0.1 for tests and benchmarks: Web API, response_url, Socket Mode, feeds.

It records every call (method, parsed body, headers) and answers only what newsbot uses:
auth.test, chat.postMessage (increasing ts, message metadata kept), conversations.history and
conversations.replies (metadata only with include_all_metadata, as Slack does), chat.getPermalink, users.info,
apps.connections.open, oauth.v2.access. Switches inject 429 with Retry-After, Slack error codes,
a post that never answers, a post stored whose answer is lost (the connection closed), and a
hook called before storing, after storing and after answering each post (for kill sweeps).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 200
    error: str | None = None

    @property
    def token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None


@dataclass
class Posted:
    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: list[dict[str, Any]]
    token: str | None
    metadata: dict[str, Any] | None = None


@dataclass
class FakeSlack:
    """Start with `await FakeSlack().start()`; point slack.api_base_url at `.base_url`."""

    teams: dict[str, str] = field(default_factory=lambda: {"xoxb-test": "T0001"})  # bot token -> team
    admins: set[str] = field(default_factory=set)
    app_token: str = "xapp-1-test"
    feeds: dict[str, Path] = field(default_factory=dict)  # GET /feeds/<name> serves the file
    rate_limit_every: int | None = None  # every n-th chat.postMessage call answers 429
    retry_after: int = 0
    errors: dict[str, list[str]] = field(default_factory=dict)  # method -> error codes for its next calls
    fail_post: dict[int, str] = field(default_factory=dict)  # n-th chat.postMessage call -> error code
    hold_post: int | None = None  # the n-th chat.postMessage never answers (a crash mid-thread)
    lose_answer: set[int] = field(default_factory=set)  # the n-th chat.postMessage is stored, then the connection drops
    # called with (n-th chat.postMessage, "received" | "stored" | "answered"); True drops the connection there
    on_post: Callable[[int, str], bool | None] | None = None
    oauth_team: tuple[str, str] = ("T0002", "xoxb-team-two")

    def __post_init__(self) -> None:
        self.calls: list[Call] = []
        self.posted: list[Posted] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []  # (response_url name, body)
        self.ws_received: list[dict[str, Any]] = []
        self.ws_connected = asyncio.Event()
        self._ws: web.WebSocketResponse | None = None
        self._changed = asyncio.Condition()
        self._post_calls = 0
        self._ts = int(time.time())
        self._runner: web.AppRunner | None = None
        self._release = asyncio.Event()
        self.port = 0

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/api/"

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_get("/link", self._socket)
        app.router.add_get("/feeds/{name}", self._feed)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        self._release.set()
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- waiting, without sleeping --------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), within)

    async def wait_for(self, method: str, count: int = 1, within: float = 10.0) -> list[Call]:
        await self.wait_until(lambda: len(self.calls_to(method)) >= count, within)
        return self.calls_to(method)

    async def wait_for_responses(self, count: int, within: float = 10.0) -> list[tuple[str, dict[str, Any]]]:
        await self.wait_until(lambda: len(self.responses) >= count, within)
        return self.responses

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # --- the Web API ------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                body.update(json.loads(raw))
            else:
                body.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        call = Call(method, body, dict(request.headers))
        self.calls.append(call)
        await self._notify()
        n = self._post_calls + 1 if method == "chat.postMessage" else 0
        if n and self._hook(n, "received"):
            self._post_calls += 1
            return self._drop(request, call)
        status, headers, payload = await self._answer(method, call)
        call.status, call.error = status, None if payload.get("ok") else payload.get("error")
        if n and payload.get("ok") and (n in self.lose_answer or self._hook(n, "stored")):
            return self._drop(request, call)
        await self._notify()
        response = web.Response(
            status=status, headers=headers, body=json.dumps(payload).encode(), content_type="application/json"
        )
        if n and payload.get("ok"):
            await response.prepare(request)
            await response.write_eof()
            self._hook(n, "answered")
        return response

    def _hook(self, n: int, phase: str) -> bool:
        return bool(self.on_post(n, phase)) if self.on_post is not None else False

    def _drop(self, request: web.Request, call: Call) -> web.Response:
        """Close the connection without an answer: the client cannot tell whether the post was made."""
        call.status, call.error = 0, "connection dropped"
        assert request.transport is not None
        request.transport.abort()
        return web.Response(status=500)

    async def _answer(self, method: str, call: Call) -> tuple[int, dict[str, str], dict[str, Any]]:
        if method == "chat.postMessage":
            self._post_calls += 1
            if self.rate_limit_every and self._post_calls % self.rate_limit_every == 0:
                return 429, {"Retry-After": str(self.retry_after)}, {"ok": False, "error": "ratelimited"}
            if self._post_calls in self.fail_post:
                return 200, {}, {"ok": False, "error": self.fail_post[self._post_calls]}
            if self.hold_post == self._post_calls:
                # the client is cancelled meanwhile (a crash): this post is never answered, never made
                await self._release.wait()
                return 500, {}, {"ok": False, "error": "held"}
        queued = self.errors.get(method)
        if queued:
            return 200, {}, {"ok": False, "error": queued.pop(0)}
        if method == "apps.connections.open":
            if call.token != self.app_token:
                return 200, {}, {"ok": False, "error": "invalid_auth"}
            return 200, {}, {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"}
        if method == "oauth.v2.access":
            team, token = self.oauth_team
            return (
                200,
                {},
                {
                    "ok": True,
                    "app_id": "A0NEWS",
                    "authed_user": {"id": "U0INSTALLER"},
                    "scope": "commands,chat:write,users:read",
                    "token_type": "bot",
                    "access_token": token,
                    "bot_user_id": "U0BOT2",
                    "team": {"id": team, "name": "Second Team"},
                    "enterprise": None,
                    "is_enterprise_install": False,
                },
            )
        team = self.teams.get(call.token or "") or (self.oauth_team[0] if call.token == self.oauth_team[1] else None)
        if team is None:
            return 200, {}, {"ok": False, "error": "not_authed" if call.token is None else "invalid_auth"}
        if method == "auth.test":
            return (
                200,
                {},
                {
                    "ok": True,
                    "url": "https://fake.slack.test/",
                    "team": "Fake Team",
                    "user": "newsbot",
                    "team_id": team,
                    "user_id": "U0BOT",
                    "bot_id": "B0BOT",
                    "is_enterprise_install": False,
                },
            )
        if method == "users.info":
            user = str(call.body.get("user"))
            return 200, {}, {"ok": True, "user": {"id": user, "is_admin": user in self.admins, "is_owner": False}}
        if method == "chat.postMessage":
            self._ts += 1
            ts = f"{self._ts}.000100"
            blocks = call.body.get("blocks") or []
            if isinstance(blocks, str):
                blocks = json.loads(blocks)
            metadata = call.body.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            self.posted.append(
                Posted(
                    channel=str(call.body["channel"]),
                    ts=ts,
                    thread_ts=call.body.get("thread_ts"),
                    text=str(call.body.get("text", "")),
                    blocks=blocks,
                    token=call.token,
                    metadata=metadata,
                )
            )
            return 200, {}, {"ok": True, "channel": call.body["channel"], "ts": ts, "message": {"ts": ts}}
        if method in ("conversations.history", "conversations.replies"):
            return 200, {}, self._listing(method, call.body)
        if method == "chat.getPermalink":
            channel, ts = str(call.body.get("channel")), str(call.body.get("message_ts"))
            message = next((p for p in self.posted if p.channel == channel and p.ts == ts), None)
            if message is None:
                return 200, {}, {"ok": False, "error": "message_not_found"}
            thread = f"?thread_ts={message.thread_ts}&cid={channel}" if message.thread_ts else ""
            link = f"https://fake.slack.test/archives/{channel}/p{ts.replace('.', '')}{thread}"
            return 200, {}, {"ok": True, "channel": channel, "permalink": link}
        return 200, {}, {"ok": False, "error": "unknown_method"}

    def _listing(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """conversations.history (top-level messages, newest first) or .replies (the thread, oldest first)."""
        channel = str(body.get("channel"))
        if method == "conversations.history":
            oldest = float(body.get("oldest") or 0)
            found = [
                p
                for p in reversed(self.posted)
                if p.channel == channel and p.thread_ts in (None, p.ts) and float(p.ts) > oldest
            ]
        else:
            ts = str(body.get("ts"))
            found = [p for p in self.posted if p.channel == channel and (p.ts == ts or p.thread_ts == ts)]
            if not any(p.ts == ts for p in found):
                return {"ok": False, "error": "thread_not_found"}
        start = int(body.get("cursor") or 0)
        limit = int(body.get("limit") or 100)
        page = found[start : start + limit]
        with_metadata = str(body.get("include_all_metadata")).lower() in ("true", "1")
        messages = [
            {
                "type": "message",
                "ts": p.ts,
                "text": p.text,
                "bot_id": "B0BOT",
                **({"thread_ts": p.thread_ts} if p.thread_ts else {}),
                **({"metadata": p.metadata} if with_metadata and p.metadata else {}),
            }
            for p in page
        ]
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": messages,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    async def _respond(self, request: web.Request) -> web.Response:
        self.responses.append((request.match_info["name"], await request.json()))
        await self._notify()
        return web.Response(text="ok")

    async def _feed(self, request: web.Request) -> web.StreamResponse:
        path = self.feeds.get(request.match_info["name"])
        if path is None:
            return web.Response(status=404)
        return web.Response(body=path.read_bytes(), content_type="application/rss+xml")

    # --- Socket Mode --------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0NEWS"}})
        self.ws_connected.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.ws_received.append(json.loads(msg.data))
                await self._notify()
        return ws

    async def send_envelope(self, envelope: dict[str, Any]) -> None:
        await asyncio.wait_for(self.ws_connected.wait(), 10)
        assert self._ws is not None
        await self._ws.send_json(envelope)


def slash_form(
    fake: FakeSlack, text: str, *, user: str = "U0USER", team: str = "T0001", name: str = "cmd"
) -> dict[str, str]:
    """The fields of a slash command, as Slack sends them (form body in HTTP mode, payload in Socket Mode)."""
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "team_domain": "fake",
        "channel_id": "C0NEWS",
        "channel_name": "news",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/news",
        "text": text,
        "api_app_id": "A0NEWS",
        "is_enterprise_install": "false",
        "response_url": f"{fake.root}/respond/{name}",
        "trigger_id": "1.2.3",
    }


def shown_text(blocks: list[dict[str, Any]]) -> str:
    """What a reader sees of Block Kit, block by block on its own line: rich text elements' text
    (a link shows its label), plain_text as is, mrkdwn as sent. Styles and URLs are not text."""

    def walk(node: Any) -> str:
        if isinstance(node, list):
            return "".join(walk(n) for n in node)
        if not isinstance(node, dict):
            return ""
        if node.get("type") in ("text", "link", "plain_text", "mrkdwn"):
            return str(node.get("text") or "")
        if "elements" in node:
            return walk(node["elements"])
        return walk(node.get("text"))

    return "\n".join(walk(b) for b in blocks)
