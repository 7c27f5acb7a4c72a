"""`newsbot` command line: run, digest --once, poll --once, cmd, inspect, feeds add|list|remove, health.

Every command takes --config PATH (default ./config.toml, falling back to the
bundled config.example.toml with a note). Exit codes: 0 done, 1 failed, 2 bad
config or usage.

Start-up time counts here (health checks, cron, `newsbot cmd`, the tests' many processes), so
this module imports at its top only what every command needs; each command imports the rest of
newsbot (the pipeline, SQLAlchemy, aiohttp, the platforms) when it runs. `--version` and `--help`
load nothing of it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot import __version__
from bot.errors import ConfigError, FeedError, NewsbotError, UserInputError
from bot.isotime import iso_utc
from bot.shutdown import Stopping
from bot.text_safety import safe_chars, safe_line

if TYPE_CHECKING:
    import asyncio

    from bot.app import App
    from bot.config import Settings
    from bot.models import PollReport, Reply

DEFAULT_CONFIG = Path("config.toml")
EXAMPLE_NAMES = (Path("config.example.toml"), Path(__file__).resolve().parents[1] / "config.example.toml")


def find_config(given: str | None) -> Path:
    if given is not None:
        return Path(given)
    if DEFAULT_CONFIG.exists():
        return DEFAULT_CONFIG
    for example in EXAMPLE_NAMES:
        if example.exists():
            print(
                f"note: {DEFAULT_CONFIG} not found; using {example} (copy it to config.toml to make your own)",
                file=sys.stderr,
            )
            return example
    raise ConfigError("", f"{DEFAULT_CONFIG} not found; pass --config PATH or copy config.example.toml")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", help="config file (default: ./config.toml)")
    parser = argparse.ArgumentParser(prog="newsbot", description="News digests for Slack, Discord and the console.")
    parser.add_argument("--version", action="version", version=f"newsbot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", parents=[common], help="poll feeds and post scheduled digests until stopped")
    sub.add_parser(
        "health", parents=[common], help="check that the database opens at the current schema (exit 0 ok, 1 not)"
    )
    d = sub.add_parser("digest", parents=[common], help="build and post one digest for every subscription now")
    d.add_argument("--once", action="store_true", required=True, help="post once and exit")
    d.add_argument("--no-poll", action="store_true", help="do not poll the feeds first")
    p = sub.add_parser("poll", parents=[common], help="fetch the feeds once")
    p.add_argument("--once", action="store_true", required=True, help="poll once and exit")
    p.add_argument("--all", action="store_true", help="poll every feed, not only those due")
    ins = sub.add_parser("inspect", parents=[common], help="look at what newsbot makes of a feed or of texts")
    isub = ins.add_subparsers(dest="inspect_command", required=True, metavar="WHAT")
    inf = isub.add_parser("feed", parents=[common], help="fetch and parse one feed; one JSON object per article")
    inf.add_argument("target", metavar="URL_OR_PATH")
    for kind, what in (
        ("condense", "clean text, summary and entities"),
        ("entities", "entity spans"),
        ("cluster", "story labels"),
    ):
        kp = isub.add_parser(kind, parents=[common], help=f"JSON Lines on stdin -> {what} as JSON Lines on stdout")
        if kind == "cluster":
            kp.add_argument(
                "--settled",
                action="store_true",
                help="write the labels when the input ends, as the stories stand then (later articles can split "
                "a story an earlier one joined); default: each line's story as soon as it is decided",
            )
    f = sub.add_parser("feeds", parents=[common], help="add, list or remove feeds")
    fsub = f.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    fa = fsub.add_parser("add", parents=[common], help="add a feed (checked by fetching it once)")
    fa.add_argument("url", help="feed URL (or a local file, when fetch.allow_local_files is on)")
    fa.add_argument("--name", help="the name shown as the source in digests")
    fa.add_argument("--channel", help='also subscribe this channel, e.g. "console:#news"')
    fa.add_argument("--no-check", action="store_true", help="add without fetching it first")
    fsub.add_parser("list", parents=[common], help="list feeds with their state")
    c = sub.add_parser("cmd", parents=[common], help='run one chat command as the console channel, e.g. "search NATO"')
    c.add_argument("line", help='the command line, e.g. "subscribe https://example.org/feed.xml"')
    c.add_argument("--channel", help="the console channel (default: the first console subscription, or console:#news)")
    c.add_argument("--user", default="console", help="who is asking (default: console)")
    fr = fsub.add_parser("remove", parents=[common], help="remove a feed by URL or id")
    fr.add_argument("feed", help="feed URL or id (see `newsbot feeds list`)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from bot.config import load_settings  # after parsing: --version and --help need none of it
        from bot.logs import setup_logging

        settings = load_settings(find_config(args.config))
        setup_logging(settings.log_level, sys.stderr)
        if args.command == "inspect":
            return _inspect(args, settings)
        if args.command == "health":
            from bot.health import check

            return check(settings, sys.stdout)
        import asyncio  # here: the commands above need no event loop

        return asyncio.run(_dispatch(args, settings))
    except ConfigError as exc:
        print(f"newsbot: config error: {exc}", file=sys.stderr)
        return 2
    except NewsbotError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Stopping:
        print(
            "newsbot: stopped by SIGTERM; a digest not finished stays pending and the next run carries it on",
            file=sys.stderr,
        )
        return 128 + signal.SIGTERM
    except BrokenPipeError:
        # the reader went away (`newsbot inspect ... | head`): stop quietly, as other Unix tools do,
        # and keep Python from reporting the failed flush of stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def _inspect(args: argparse.Namespace, settings: Settings) -> int:
    """Inspection needs no database: it only fetches or reads and prints JSON lines."""
    if args.inspect_command == "feed":
        import asyncio

        from bot.ingest.inspect import inspect_feed

        return asyncio.run(inspect_feed(args.target, settings, sys.stdout, sys.stderr))
    from bot.inspect_nlp import run_inspect

    settled = bool(getattr(args, "settled", False))
    return run_inspect(args.inspect_command, sys.stdin, sys.stdout, sys.stderr, settings.digest, settled=settled)


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import App  # the pipeline: only the commands that open the database load it

    handlers: dict[str, Callable[[App, argparse.Namespace], Awaitable[int]]] = {
        "run": _run,
        "digest": _digest,
        "poll": _poll,
        "cmd": _cmd,
        "add": _feeds_add,
        "list": _feeds_list,
        "remove": _feeds_remove,
    }
    key = args.feeds_command if args.command == "feeds" else args.command
    # only `run` listens for chat commands; the rest post at most, and need only posting's secrets
    app = App.open(settings, serving=key == "run")
    try:
        return await handlers[key](app, args)
    finally:
        await app.close()


async def _run(app: App, args: argparse.Namespace) -> int:
    from bot.scheduler import run_forever

    await run_forever(app)
    return 0


NO_FEEDS = "no feeds to poll: add [[feeds]] to the config, or `newsbot feeds add URL`"
ALL_FAILED = "every feed failed to fetch (see above)"


async def _poll(app: App, args: argparse.Namespace) -> int:
    from bot.ingest.poll import format_report

    if not await app.storage.run(lambda s: s.feeds()):
        print(NO_FEEDS, file=sys.stderr)
        return 0
    r = await app.poll(due_only=not args.all)
    print(format_report(r))
    for error in r.errors:
        print(f"  failed: {error}", file=sys.stderr)
    if r.feeds and r.failed == r.feeds:
        print(ALL_FAILED, file=sys.stderr)
        return 1
    return 0


async def _digest(app: App, args: argparse.Namespace) -> int:
    """Poll, then post; on SIGTERM a poll in progress is dropped, and of the digests only the
    message being posted is finished (its claim is given back; the next run carries on)."""
    import asyncio

    loop = asyncio.get_running_loop()
    polling: asyncio.Future[PollReport] | None = None

    def on_sigterm() -> None:
        app.gate.close()
        if polling is not None and not polling.done():
            polling.cancel()  # nothing is posted yet: the fetches can wait for the next run

    def start_poll() -> asyncio.Future[PollReport]:
        nonlocal polling
        polling = asyncio.ensure_future(app.poll())
        return polling

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        return await _digest_once(app, args, start_poll)
    except asyncio.CancelledError:
        if app.gate.closed:
            raise Stopping from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


async def _digest_once(app: App, args: argparse.Namespace, start_poll: Callable[[], asyncio.Future[PollReport]]) -> int:
    all_failed = False
    if not args.no_poll and not await app.storage.run(lambda s: s.feeds()):
        print(NO_FEEDS, file=sys.stderr)
    elif not args.no_poll:
        r = await start_poll()
        print(f"polled {r.feeds} feeds: {r.new_articles} new articles, {r.failed} failed", file=sys.stderr)
        for error in r.errors:
            print(f"  failed: {error}", file=sys.stderr)
        # what is already stored still makes a digest; the run as a whole has failed all the same
        all_failed = bool(r.feeds) and r.failed == r.feeds
    if app.gate.closed:
        raise Stopping
    outcomes = await app.digest_all()
    if not outcomes:
        print("no subscriptions: add a [[subscriptions]] entry to the config", file=sys.stderr)
    for o in outcomes:
        if o.status in ("posted", "resumed"):
            also = f", {o.updates} follow-up{'' if o.updates == 1 else 's'}" if o.updates else ""
            print(
                f"{o.channel}: {o.status} {o.stories} {'story' if o.stories == 1 else 'stories'}{also}", file=sys.stderr
            )
        else:
            print(f"{o.channel}: {o.message}", file=sys.stderr)
    if all_failed:
        print(ALL_FAILED, file=sys.stderr)
    return 1 if all_failed or any(o.status == "failed" for o in outcomes) else 0


async def _cmd(app: App, args: argparse.Namespace) -> int:
    from bot.models import ChannelRef, CommandRequest

    if args.channel:
        try:
            channel = ChannelRef.parse(args.channel)
        except ValueError as exc:
            raise UserInputError(str(exc)) from None
        if channel.platform != "console":
            raise UserInputError(f"newsbot cmd speaks as a console channel, not {channel.platform}")
    else:
        console = [s.channel for s in app.settings.subscriptions if s.channel.platform == "console"]
        channel = console[0] if console else ChannelRef("console", "#news")
    # whoever runs the command line on this machine manages its console channels
    reply = await app.handle_command(CommandRequest(channel=channel, user=args.user, text=args.line, can_manage=True))
    print(format_reply(reply))
    return 0 if reply.ok else 1


def format_reply(reply: Reply) -> str:
    """A reply for the terminal: feed text made safe (no escape sequences, bidi or invisible characters)."""
    lines = [safe_chars(line) for line in reply.lines]
    for i, r in enumerate(reply.results, start=1):
        when = f" · {iso_utc(r.published)}" if r.published else ""
        head = f"{i}. {safe_line(r.title)}\n   {safe_line(r.summary)}\n   {safe_line(r.source)}{when}"
        lines.append(head + (f" · {safe_line(r.url)}" if r.url else ""))
    return "\n".join(lines)


async def _feeds_add(app: App, args: argparse.Namespace) -> int:
    """Add a feed the way chat `subscribe` finds one; on any failure nothing is left behind."""
    from bot.ingest.resolve import feed_address, feed_failure, find_feed
    from bot.models import ChannelRef

    channel = None
    if args.channel:  # before anything is written: a bad channel must not leave the feed added
        try:
            channel = ChannelRef.parse(args.channel)
        except ValueError as exc:
            raise UserInputError(str(exc)) from None
    url = feed_address(args.url, local_files=app.settings.fetch.allow_local_files)
    if not args.no_check:
        try:
            url, parsed = await find_feed(app.fetcher, url, app.clock.now())
        except FeedError as exc:
            raise UserInputError(feed_failure(exc)) from None
        print(f'checked: "{parsed.title or url}" with {len(parsed.items)} items')
    existing = await app.storage.run(lambda s: s.find_feed(url))
    if existing is not None and args.name and existing.from_config and args.name != existing.name:
        raise UserInputError(
            f"feed {existing.id} ({url}) is declared in {app.settings.path}; set its name there "
            "(a name given here would be put back at the next start)"
        )
    now = app.clock.now()
    feed_id = await app.storage.run(lambda s: s.add_feed(url, now, name=args.name))
    try:
        if existing is None:
            print(f"feed {feed_id}: {url}" + (f' named "{args.name}"' if args.name else ""))
        elif args.name and args.name != existing.name:
            print(f'feed {feed_id} was already there: {url}; renamed "{args.name}"')
        else:
            print(f"feed {feed_id} was already there: {url}")
        if channel is not None:
            sub_id = await app.storage.run(lambda s: s.ensure_subscription(channel, now))
            if await app.storage.run(lambda s: s.subscribe(sub_id, [feed_id], now)):
                print(f"{channel} now follows it")
            else:
                print(f"{channel} already follows it")
    except BaseException:
        if existing is None:
            await app.storage.run(lambda s: s.remove_feed(feed_id))
        raise
    return 0


async def _feeds_list(app: App, args: argparse.Namespace) -> int:
    feeds = await app.storage.run(lambda s: s.feeds())
    if not feeds:
        print("no feeds yet: `newsbot feeds add URL`")
    for f in feeds:
        state = f.state if f.state != "ok" or f.last_checked_at is None else f"ok, checked {iso_utc(f.last_checked_at)}"
        channels = ", ".join(str(c) for c in await app.storage.run(lambda s: s.subscribers(f.id))) or "no subscribers"
        print(f"{f.id:>3}  {safe_line(f.display_name)}\n     {safe_line(f.url)}\n     {state}; {channels}")
    return 0


async def _feeds_remove(app: App, args: argparse.Namespace) -> int:
    from bot.config import resolve_feed_url

    value = args.feed
    feed = await app.storage.run(lambda s: s.find_feed(value))
    if feed is None and not value.isdigit():
        try:
            feed = await app.storage.run(lambda s: s.find_feed(resolve_feed_url(value, Path.cwd(), True)))
        except ValueError:
            feed = None
    if feed is None:
        raise UserInputError(f"no feed {value!r}; `newsbot feeds list` shows the ids and URLs")
    if any(fc.url == feed.url for fc in app.settings.feeds) or any(
        feed.url in sc.feeds for sc in app.settings.subscriptions
    ):
        raise UserInputError(
            f"feed {feed.id} ({feed.url}) is declared in {app.settings.path}; "
            "remove it there, or it comes back at the next start"
        )
    await app.storage.run(lambda s: s.remove_feed(feed.id))
    print(f"removed feed {feed.id}: {feed.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
