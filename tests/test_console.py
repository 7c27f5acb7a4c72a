"""The console adapter as a terminal shows it (a real pseudo-terminal) and as a pipe gets it."""

from __future__ import annotations

import io
import os
import re
import select
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TextIO

import pytest

from adapters.console import INDENT, ConsoleAdapter
from bot.models import ChannelRef, Digest, DigestStory, PostedMessage, Span

SUMMARY = (
    "During a visit by Seoul's parliamentary intelligence committee chief, the world's largest military "
    "alliance said it would work to strengthen cooperation with South Korea in the years to come."
)
STORY = DigestStory(
    story_id=1,
    title="NATO and South Korea agree to increase global cooperation",
    url="https://pacificwire.example/world/nato-south-korea",
    source="Pacific Wire",
    summary=SUMMARY,
    highlights=(Span(18, 23, "GPE"), Span(SUMMARY.index("South Korea"), SUMMARY.index("South Korea") + 11, "GPE")),
    key_entities=("Seoul", "South Korea"),
    title_highlights=(Span(0, 4, "ORG"),),
)
DIGEST = Digest(
    digest_id=1,
    channel=ChannelRef("console", "#news"),
    title="News digest",
    scheduled_for=datetime(2026, 11, 27, 7, 0, tzinfo=UTC),
    stories=(STORY,),
    top_entities=("NATO", "South Korea", "Seoul"),
)
ANSI = re.compile(r"\x1b\[([0-9;]*)m")


@pytest.fixture
def terminal() -> Iterator[tuple[TextIO, int]]:
    """A pseudo-terminal: newsbot writes to its slave end, the test reads what a terminal would show."""
    master, slave = os.openpty()
    stream = open(slave, "w", encoding="utf-8", closefd=True)  # noqa: SIM115 - closed below
    yield stream, master
    stream.close()
    os.close(master)


def on_terminal(
    terminal: tuple[TextIO, int], monkeypatch: pytest.MonkeyPatch, columns: int, no_color: str | None = None
) -> tuple[ConsoleAdapter, TextIO, int]:
    """A console adapter on the pseudo-terminal, `columns` wide, with NO_COLOR unset or set to `no_color`."""
    monkeypatch.setenv("COLUMNS", str(columns))
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    stream, master = terminal
    return ConsoleAdapter(stream, "auto"), stream, master


def shown(stream: TextIO, master: int) -> str:
    stream.flush()
    chunks = []
    while select.select([master], [], [], 0.5)[0]:
        chunks.append(os.read(master, 65536))
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


async def post_all(adapter: ConsoleAdapter) -> None:
    parent: PostedMessage = await adapter.post_parent(DIGEST.channel, DIGEST)
    await adapter.post_story(DIGEST.channel, DIGEST, parent, STORY, 1)


async def test_piped_output_keeps_each_line_whole_and_bolds_each_entity_alone() -> None:
    out = io.StringIO()
    await post_all(ConsoleAdapter(out, "auto"))
    assert out.getvalue() == (
        "━━ News digest · console:#news · Fri 27 Nov 2026 · 1 story · **NATO**, **South Korea**, **Seoul**\n"
        f"{INDENT}1. **NATO** and South Korea agree to increase global cooperation\n"
        f"{INDENT}During a visit by **Seoul**'s parliamentary intelligence committee chief, the world's largest "
        "military alliance said it would work to strengthen cooperation with **South Korea** in the years to come.\n"
        f"{INDENT}Pacific Wire · https://pacificwire.example/world/nato-south-korea\n"
    )


async def test_on_a_terminal_long_lines_wrap_inside_the_gutter(
    terminal: tuple[TextIO, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter, stream, master = on_terminal(terminal, monkeypatch, 60)
    assert adapter.styled and adapter.width == 60
    await post_all(adapter)
    lines = ANSI.sub("", shown(stream, master)).splitlines()
    *body, link = lines[1:]
    assert len(body) > 3  # the summary needed several lines
    assert all(line.startswith(INDENT) and len(line) <= 60 for line in body), body
    words = " ".join(line.removeprefix(INDENT).strip() for line in body).split()
    assert words == f"1. {STORY.title} {SUMMARY} Pacific Wire".split()  # nothing lost or repeated
    # the URL does not fit after the source: it gets its own line, whole, so it can still be clicked
    assert link == f"{INDENT}{STORY.url}"


async def test_a_url_that_fits_stays_after_the_source(
    terminal: tuple[TextIO, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter, stream, master = on_terminal(terminal, monkeypatch, 100)
    await post_all(adapter)
    lines = ANSI.sub("", shown(stream, master)).splitlines()
    assert lines[-1] == f"{INDENT}Pacific Wire · {STORY.url}"


async def test_each_header_entity_is_styled_on_its_own(
    terminal: tuple[TextIO, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter, _stream, _master = on_terminal(terminal, monkeypatch, 200)
    header = adapter.render_parent(DIGEST)
    styled = [header.plain[s.start : s.end] for s in header.spans if s.style == "bold"]
    assert styled == ["NATO", "South Korea", "Seoul"]


@pytest.mark.parametrize("no_color", ["", "1"])
async def test_no_color_drops_the_colours_and_keeps_the_bold(
    no_color: str, terminal: tuple[TextIO, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter, stream, master = on_terminal(terminal, monkeypatch, 200, no_color)
    await post_all(adapter)
    codes = {code for group in ANSI.findall(shown(stream, master)) for code in group.split(";") if code}
    colours = {c for c in codes if re.fullmatch(r"3[0-9]|9[0-7]|38|4[0-9]|10[0-7]", c)}
    assert "1" in codes  # bold, NO_COLOR or not
    assert bool(colours) == (no_color == ""), codes


async def test_color_always_overrides_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    await post_all(ConsoleAdapter(out, "always"))
    assert "\x1b[36m" in out.getvalue() or "\x1b[1;36m" in out.getvalue(), out.getvalue()[:200]
