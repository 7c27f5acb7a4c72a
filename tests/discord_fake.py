"""A fake Discord on loopback: the REST endpoints newsbot uses, and a minimal gateway, for discord.py's real client.

Records every request (method, path, query, JSON body), keeps channels, messages and threads, and
answers errors on cue: 429 with retry_after (and the Via header discord.py insists on) or 403/404
with Discord's JSON error codes. Message history (before/after/limit, newest first) and active
threads read back what was posted; a nonce sent with enforce_nonce returns the first message only
within `nonce_window` seconds, as Discord's does for a few minutes; `lose` carries a request out
and drops the connection instead of answering; `on_post` is called before, after and once
answered. The gateway says HELLO, answers IDENTIFY with READY and GUILD_CREATE, and lets a test
dispatch INTERACTION_CREATE payloads.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = 1100000000000000001
BOT_ID = 1100000000000000002
OWNER_ID = 1100000000000000003
GUILD_ID = 1200000000000000001
TEXT_ID = 1200000000000000010
FORUM_ID = 1200000000000000011
VOICE_ID = 1200000000000000012
TIMESTAMP = "2026-11-27T07:00:00.000000+00:00"
MANAGE_CHANNELS = 1 << 4
# what a member without special rights gets in a channel: view, send, read history, use app commands...
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 31) | (1 << 38)
BOT_PERMISSIONS = MEMBER_PERMISSIONS | (1 << 14) | (1 << 35)  # + embed links, create public threads


def user_json(user_id: int, name: str, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "bot": bot,
        "flags": 0,
    }


@dataclass
class Call:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    body: Any
    status: int = 200


@dataclass
class Rule:
    method: str
    pattern: re.Pattern[str]
    status: int
    payload: dict[str, Any]
    times: int
    skip: int = 0
    seen: int = 0
    headers: dict[str, str] = field(default_factory=dict)


class FakeDiscord:
    def __init__(self, nonce_window: float | None = None, time_ids: bool = False) -> None:
        self.nonce_window = nonce_window  # seconds a nonce is remembered; None: forever
        self.time_ids = time_ids  # new ids are snowflakes of the current time, as Discord's are
        # channels whose history newsbot may not read: Discord answers an empty list, not an error
        self.no_history: set[int] = set()
        self.losses: list[Rule] = []
        # called with (the call, "received" | "stored" | "answered") for message-creating POSTs;
        # True drops the connection at that point ("received": nothing is done)
        self.on_post: Callable[[Call, str], bool | None] | None = None
        self.calls: list[Call] = []
        self.rules: list[Rule] = []
        self.ids = itertools.count(1300000000000000001)
        self.channels: dict[int, dict[str, Any]] = {
            TEXT_ID: self._guild_channel(TEXT_ID, 0, "news"),
            FORUM_ID: self._guild_channel(FORUM_ID, 15, "news-forum"),
            VOICE_ID: self._guild_channel(VOICE_ID, 2, "voice"),
        }
        self.messages: dict[int, dict[str, Any]] = {}
        self.nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.identify: list[dict[str, Any]] = []
        self._sockets: list[web.WebSocketResponse] = []
        self._seq = itertools.count(1)
        self.runner: web.AppRunner | None = None
        self.port = 0
        self._activity = asyncio.Event()  # set after every request, so waiting needs no sleeping
        self._release = asyncio.Event()
        self.stalls: list[Rule] = []

    # --- set-up --------------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]
        return self

    async def close(self) -> None:
        self._release.set()
        for ws in self._sockets:
            await ws.close()
        if self.runner is not None:
            await self.runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def fail(
        self,
        method: str,
        path: str,
        status: int = 403,
        code: int = 50013,
        message: str = "Missing Permissions",
        *,
        times: int = 1,
        skip: int = 0,
    ) -> None:
        """Answer the matching requests (after `skip` of them went through) with a Discord JSON error."""
        self.rules.append(Rule(method, re.compile(path), status, {"message": message, "code": code}, times, skip))

    def rate_limit(self, method: str, path: str, retry_after: float = 0.05, *, times: int = 1, skip: int = 0) -> None:
        payload = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
        self.rules.append(Rule(method, re.compile(path), 429, payload, times, skip, headers={"Via": "1.1 google"}))

    def stall(self, method: str, path: str, *, skip: int = 0) -> None:
        """Carry out the matching request after the first `skip`, but never answer it (until close)."""
        self.stalls.append(Rule(method, re.compile(path), 0, {}, times=1, skip=skip))

    def lose(self, method: str, path: str, *, skip: int = 0, times: int = 1) -> None:
        """Carry out the matching request after the first `skip`, then drop the connection unanswered."""
        self.losses.append(Rule(method, re.compile(path), 0, {}, times=times, skip=skip))

    def _stalls(self, method: str, path: str, rules: list[Rule] | None = None) -> bool:
        for rule in self.stalls if rules is None else rules:
            if rule.method == method and rule.pattern.fullmatch(path):
                rule.seen += 1
                return rule.skip < rule.seen <= rule.skip + rule.times
        return False

    def messages_in(self, channel_id: int | str) -> list[dict[str, Any]]:
        return [m for m in self.messages.values() if m["channel_id"] == str(channel_id)]

    def find(self, method: str, path: str) -> list[Call]:
        """Successful calls whose path fully matches the regex `path`."""
        return [c for c in self.calls if c.method == method and re.fullmatch(path, c.path) and c.status < 300]

    async def wait_for(self, predicate: Callable[[], Any]) -> Any:
        """Poll until `predicate()` is truthy (5 s at most): the bot answers interactions in tasks of its own."""
        try:
            async with asyncio.timeout(5):
                while not (value := predicate()):
                    self._activity.clear()
                    await self._activity.wait()
        except TimeoutError:
            raise AssertionError(f"timed out; calls so far: {[(c.method, c.path) for c in self.calls]}") from None
        return value

    # --- gateway -------------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        payload = {"op": 0, "t": event, "s": next(self._seq), "d": data}
        for ws in self._sockets:
            await ws.send_str(json.dumps(payload))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}}))
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            if frame["op"] == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif frame["op"] == 2:
                self.identify.append(frame["d"])
                ready = {
                    "v": 10,
                    "user": user_json(BOT_ID, "newsbot", bot=True),
                    "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
                    "session_id": "session-1",
                    "resume_gateway_url": self.gateway_url,
                    "application": {"id": str(APP_ID), "flags": 0},
                }
                await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": next(self._seq), "d": ready}))
                await self.dispatch("GUILD_CREATE", self.guild_json())
        self._sockets.remove(ws)
        return ws

    def guild_json(self) -> dict[str, Any]:
        everyone = {
            "id": str(GUILD_ID),
            "name": "@everyone",
            "permissions": str(MEMBER_PERMISSIONS),
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        return {
            "id": str(GUILD_ID),
            "name": "Newsroom",
            "icon": None,
            "owner_id": str(OWNER_ID),
            "roles": [everyone],
            "emojis": [],
            "stickers": [],
            "features": [],
            "channels": [self.channels[c] for c in (TEXT_ID, FORUM_ID)],
            "threads": [],
            "members": [],
            "voice_states": [],
            "presences": [],
            "member_count": 2,
            "large": False,
            "unavailable": False,
            "joined_at": TIMESTAMP,
            "preferred_locale": "en-US",
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "system_channel_flags": 0,
        }

    def interaction(
        self,
        command: str,
        options: list[dict[str, Any]] | None = None,
        *,
        user_id: int = OWNER_ID,
        permissions: int = MEMBER_PERMISSIONS | MANAGE_CHANNELS,
        channel_id: int = TEXT_ID,
        kind: int = 2,
        app_permissions: int = BOT_PERMISSIONS,
        name: str = "news",
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for `/news <command> ...` (kind 4: an autocomplete request)."""
        iid = next(self.ids)
        return {
            "id": str(iid),
            "application_id": str(APP_ID),
            "type": kind,
            "token": f"itok-{iid}",
            "version": 1,
            "guild_id": str(GUILD_ID),
            "channel_id": str(channel_id),
            "channel": self.channels[channel_id],
            "guild": {"id": str(GUILD_ID), "locale": "en-US", "features": []},
            "member": {
                "user": user_json(user_id, f"user{user_id % 1000}"),
                "roles": [],
                "joined_at": TIMESTAMP,
                "deaf": False,
                "mute": False,
                "flags": 0,
                "permissions": str(permissions),
            },
            "app_permissions": str(app_permissions),
            "locale": "en-US",
            "guild_locale": "en-US",
            "context": 0,
            "attachment_size_limit": 8388608,
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "data": {
                "id": "1400000000000000001",
                "name": name,
                "type": 1,
                "guild_id": str(GUILD_ID),
                "options": [{"type": 1, "name": command, "options": options or []}],
            },
        }

    # --- REST ----------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._handle(request)
        finally:
            self._activity.set()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            body = json.loads(raw) if raw and request.content_type == "application/json" else raw.decode()
        call = Call(request.method, path, dict(request.query), body)
        self.calls.append(call)
        creates = request.method == "POST" and bool(re.fullmatch(r"/channels/\d+/(messages|threads)", path))
        if creates and self._hook(call, "received"):
            return _drop(request, call)
        for rule in self.rules:
            if rule.method == request.method and rule.pattern.fullmatch(path):
                rule.seen += 1
                if rule.skip < rule.seen <= rule.skip + rule.times:
                    call.status = rule.status
                    return _json(rule.payload, rule.status, rule.headers)
        try:
            status, payload = self._answer(request.method, path, dict(request.query), body)
        except KeyError:
            status, payload = 404, {"message": "404: Not Found", "code": 0}
        call.status = status
        if self._stalls(request.method, path):
            # done on Discord's side, but the answer never arrives: what a crash at this moment looks like
            self._activity.set()
            await self._release.wait()
        if self._stalls(request.method, path, self.losses) or (creates and status < 300 and self._hook(call, "stored")):
            return _drop(request, call)
        if status == 204:
            return web.Response(status=204)
        response = _json(payload, status)
        if creates and status < 300 and self.on_post is not None:
            await response.prepare(request)
            await response.write_eof()
            self._hook(call, "answered")
        return response

    def _hook(self, call: Call, phase: str) -> bool:
        return bool(self.on_post(call, phase)) if self.on_post is not None else False

    def _answer(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if path == "/users/@me":
            return 200, user_json(BOT_ID, "newsbot", bot=True)
        if path == "/oauth2/applications/@me":
            return 200, {
                "id": str(APP_ID),
                "name": "newsbot",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": user_json(OWNER_ID, "owner"),
                "verify_key": "k",
                "flags": 0,
                "summary": "",
                "rpc_origins": [],
            }
        if m := re.fullmatch(r"/applications/(\d+)(/guilds/\d+)?/commands", path):
            scope = m.group(2) or "global"
            if method == "PUT":
                self.commands[scope] = [
                    {**c, "id": str(next(self.ids)), "application_id": str(APP_ID), "version": "1"} for c in body
                ]
            return 200, self.commands.get(scope, [])
        if m := re.fullmatch(r"/channels/(\d+)", path):
            channel = self.channels.get(int(m.group(1)))
            return (200, channel) if channel else (404, {"message": "Unknown Channel", "code": 10003})
        if (m := re.fullmatch(r"/channels/(\d+)/messages", path)) and method == "GET":
            return self._history(int(m.group(1)), query)
        if m := re.fullmatch(r"/channels/(\d+)/messages", path):
            return self._post_message(int(m.group(1)), body)
        if re.fullmatch(r"/channels/(\d+)/threads/archived/public", path):
            return 200, {"threads": [], "members": [], "has_more": False}
        if m := re.fullmatch(r"/guilds/(\d+)/threads/active", path):
            threads = [
                c for c in self.channels.values() if c.get("type") in (11, 12) and c.get("guild_id") == m.group(1)
            ]
            return 200, {"threads": threads, "members": []}
        if m := re.fullmatch(r"/channels/(\d+)/messages/(\d+)/threads", path):
            return self._thread_from_message(int(m.group(1)), int(m.group(2)), body)
        if m := re.fullmatch(r"/channels/(\d+)/threads", path):
            return self._forum_post(int(m.group(1)), body)
        if path == "/users/@me/channels":
            dm_id = next(self.ids)
            recipient = int(body["recipient_id"])
            self.channels[dm_id] = {
                "id": str(dm_id),
                "type": 1,
                "last_message_id": None,
                "recipients": [user_json(recipient, f"user{recipient % 1000}")],
            }
            return 200, self.channels[dm_id]
        if re.fullmatch(r"/interactions/\d+/[^/]+/callback", path):
            iid = path.split("/")[2]
            if "with_response" not in query or query["with_response"] in ("0", "false"):
                return 204, None
            flags = (body.get("data") or {}).get("flags", 0)
            return 200, {
                "interaction": {
                    "id": iid,
                    "type": 2,
                    "response_message_loading": body["type"] == 5,
                    "response_message_ephemeral": bool(flags & 64),
                },
                "resource": {"type": body["type"]},
            }
        if re.fullmatch(r"/webhooks/\d+/[^/]+", path) and method == "POST":
            return 200, self._message(TEXT_ID, body)
        if re.fullmatch(r"/webhooks/\d+/[^/]+/messages/@original", path):
            return (204, None) if method == "DELETE" else (200, self._message(TEXT_ID, body or {}))
        raise KeyError(path)

    def _new_id(self) -> int:
        if self.time_ids:
            # a snowflake: milliseconds since Discord's epoch, then a counter kept unique
            self._last = max(getattr(self, "_last", 0) + 1, (int(time.time() * 1000) - 1420070400000) << 22)
            return self._last
        return next(self.ids)

    def _message(self, channel_id: int, body: dict[str, Any], message_id: int | None = None) -> dict[str, Any]:
        mid = message_id or self._new_id()
        message = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "author": user_json(BOT_ID, "newsbot", bot=True),
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "type": 0,
            "flags": body.get("flags", 0),
            "components": [],
        }
        if self.channels.get(channel_id, {}).get("guild_id"):
            message["guild_id"] = str(GUILD_ID)
        reference = body.get("message_reference")
        if isinstance(reference, dict) and reference.get("message_id"):
            # a reply: Discord keeps what it answers (type 19)
            message["type"] = 19
            message["message_reference"] = {
                "message_id": str(reference["message_id"]),
                "channel_id": str(reference.get("channel_id") or channel_id),
                "guild_id": str(GUILD_ID),
            }
        return message

    def _post_message(self, channel_id: int, body: dict[str, Any]) -> tuple[int, Any]:
        if channel_id not in self.channels:
            return 404, {"message": "Unknown Channel", "code": 10003}
        nonce = body.get("nonce")
        if nonce and body.get("enforce_nonce") and (channel_id, nonce) in self.nonces:
            first, when = self.nonces[channel_id, nonce]
            if self.nonce_window is None or time.monotonic() - when <= self.nonce_window:
                return 200, self.messages[first]
        message = self._message(channel_id, body)
        self.messages[int(message["id"])] = message
        self.channels[channel_id]["last_message_id"] = message["id"]
        if nonce:
            self.nonces[channel_id, nonce] = (int(message["id"]), time.monotonic())
        return 200, message

    def _history(self, channel_id: int, query: dict[str, str]) -> tuple[int, Any]:
        """GET /channels/{id}/messages: up to `limit` messages, newest first; with `after`, the ones right after it."""
        if channel_id not in self.channels:
            return 404, {"message": "Unknown Channel", "code": 10003}
        if channel_id in self.no_history:
            return 200, []
        limit = int(query.get("limit", 50))
        found = sorted((int(m["id"]) for m in self.messages_in(channel_id)), reverse=True)
        if "before" in query:
            found = [i for i in found if i < int(query["before"])]
        if "after" in query:
            found = [i for i in found if i > int(query["after"])][-limit:]
        return 200, [self.messages[i] for i in found[:limit]]

    def _thread_json(self, thread_id: int, parent_id: int, name: str) -> dict[str, Any]:
        return {
            "id": str(thread_id),
            "guild_id": str(GUILD_ID),
            "parent_id": str(parent_id),
            "owner_id": str(BOT_ID),
            "name": name,
            "type": 11,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "last_message_id": None,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": TIMESTAMP,
                "locked": False,
            },
        }

    def _thread_from_message(self, channel_id: int, message_id: int, body: dict[str, Any]) -> tuple[int, Any]:
        message = self.messages.get(message_id)
        if message is None or message["channel_id"] != str(channel_id):
            return 404, {"message": "Unknown Message", "code": 10008}
        if message_id in self.channels:
            return 400, {"message": "A thread has already been created for this message", "code": 160004}
        self.channels[message_id] = self._thread_json(message_id, channel_id, body["name"])
        return 201, self.channels[message_id]

    def _forum_post(self, forum_id: int, body: dict[str, Any]) -> tuple[int, Any]:
        if self.channels.get(forum_id, {}).get("type") != 15:
            return 400, {"message": "Invalid Form Body", "code": 50035}
        thread_id = self._new_id()
        self.channels[thread_id] = self._thread_json(thread_id, forum_id, body["name"])
        starter = self._message(thread_id, body["message"], message_id=thread_id)
        self.messages[thread_id] = starter
        self.channels[thread_id]["last_message_id"] = str(thread_id)
        return 201, {**self.channels[thread_id], "message": starter}

    def _guild_channel(self, channel_id: int, kind: int, name: str) -> dict[str, Any]:
        channel: dict[str, Any] = {
            "id": str(channel_id),
            "type": kind,
            "guild_id": str(GUILD_ID),
            "name": name,
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
        }
        if kind == 15:
            channel |= {
                "available_tags": [],
                "default_reaction_emoji": None,
                "default_sort_order": None,
                "default_forum_layout": 0,
                "default_thread_rate_limit_per_user": 0,
            }
        if kind == 2:
            channel |= {"bitrate": 64000, "user_limit": 0, "rtc_region": None}
        return channel


def _drop(request: web.Request, call: Call) -> web.Response:
    """Close the connection without an answer: the client cannot tell whether it was done."""
    call.status = 0
    assert request.transport is not None
    request.transport.abort()
    return web.Response(status=500)


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py decodes JSON only when the content type is exactly application/json (no charset)
    return web.Response(
        body=json.dumps(payload).encode(), status=status, content_type="application/json", headers=headers
    )
