"""Console adapter: prints a digest the way a thread reads, on a terminal or to a file.

The embedded default and the end-to-end test driver. On a terminal it uses rich's
styles (key entities in bold); otherwise plain text with key entities as **bold**.
Feed text goes in as rich Text, never as markup, so it cannot restyle the output.
"""

from __future__ import annotations

import os
import re
import sys
from typing import TextIO
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.text import Text

from bot.models import ChannelRef, Digest, DigestStory, DigestUpdate, FoundPosts, PostedMessage, Span
from bot.ports import Taken
from bot.text_safety import safe_piece

INDENT = "  │ "
# escape sequences in a feed's title or text could retitle, clear or script the terminal
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class ConsoleAdapter:
    name = "console"

    def __init__(self, stream: TextIO | None = None, color: str = "auto", width: int | None = None) -> None:
        self.stream = stream or sys.stdout
        terminal = self.stream.isatty()
        styled = {"always": True, "never": False}.get(color, terminal)
        self.styled = styled
        # https://no-color.org: a set NO_COLOR drops colours (bold stays); color = "always" overrides it
        no_color = not styled or (color != "always" and os.environ.get("NO_COLOR", "") != "")
        self.console = Console(
            file=self.stream,
            force_terminal=styled,
            no_color=no_color,
            highlight=False,
            soft_wrap=True,
            emoji=False,
            markup=False,
        )
        self._counter = 0
        # on a terminal, long lines are wrapped here, inside the gutter, not by the terminal at its edge;
        # piped, each line stays whole (for grep and diff)
        self.width = width or (self.console.width if terminal else None)

    def _ref(self) -> str:
        self._counter += 1
        return f"console-{self._counter}"

    def render_parent(self, digest: Digest) -> Text:
        local = digest.scheduled_for.astimezone(ZoneInfo(digest.timezone))
        count = len(digest.stories)
        line = Text()
        line.append(f"━━ {_one_line(digest.title)}", style="bold cyan")
        if count:
            line.append(f" · {digest.channel} · {local:%a %d %b %Y} · {count} {'story' if count == 1 else 'stories'}")
        else:
            what = (
                f"no new stories, {len(digest.updates)} developing"
                if digest.updates
                else "no new stories since the last digest"
            )
            line.append(f" · {digest.channel} · {local:%a %d %b %Y} · {what}")
        for i, entity in enumerate(digest.top_entities):
            line.append(", " if i else " · ")
            self._bold(line, entity, "")
        return line

    def render_story(self, story: DigestStory, position: int) -> Text:
        title = Text()
        title.append(f"{position}. ", style="dim")
        self._highlighted(title, story.title.strip(), story.title_highlights, "bold")
        summary = Text()
        self._highlighted(summary, story.summary, story.highlights, "")
        source = Text()
        source.append(_one_line(story.source), style="green")
        link = Text(_one_line(story.url or ""), style="blue underline")
        # a URL cut in two cannot be clicked: one that does not fit after the source gets a line of its own
        own_line = self.width is not None and len(INDENT) + len(source) + 3 + len(link) > self.width
        if story.url and not own_line:
            source.append(" · ")
            source.append(link)
        if story.also_covered_by:
            source.append(" · also covered by " + ", ".join(_one_line(s) for s in story.also_covered_by), style="dim")
        parts = [self._in_gutter(title), self._in_gutter(summary), self._in_gutter(source)]
        if not story.summary.strip():  # an item with no text of its own gets no summary line
            del parts[1]
        if story.url and own_line:
            parts.append(Text(INDENT) + link)
        return Text("\n").join(parts)

    def _in_gutter(self, text: Text) -> Text:
        """`text` behind the thread's gutter; wrapped to the width, each wrapped line behind it too."""
        if self.width is None:
            return Text(INDENT) + text
        lines = text.wrap(self.console, max(20, self.width - len(INDENT)))
        return Text("\n").join(Text(INDENT) + line for line in lines)

    def _highlighted(self, out: Text, value: str, spans: tuple[Span, ...], style: str) -> None:
        cursor = 0
        for span in spans:
            out.append(_one_line(value[cursor : span.start]), style=style)
            self._bold(out, _one_line(value[span.start : span.end]), "bold yellow")
            cursor = span.end
        out.append(_one_line(value[cursor:]), style=style)

    def _bold(self, text: Text, value: str, style: str) -> None:
        value = _one_line(value)
        if self.styled:
            text.append(value, style=style or "bold")
        else:
            text.append(f"**{value}**")

    def render_developing(self, digest: Digest) -> Text:
        """The parent's "Developing" section: per follow-up its headline and what is new, in one line."""
        out = Text()
        out.append("Developing", style="bold cyan")
        for update in digest.updates:
            out.append("\n· ")
            self._bold(out, update.title.strip() or "(untitled)", "bold")
            out.append(" · New: " + _one_line(update.what_is_new))
            out.append(f" (earlier: {_one_line(update.reply_to.ref)})", style="dim")
        return out

    def render_update(self, update: DigestUpdate) -> Text:
        """A follow-up, as it reads in the story's earlier thread."""
        out = Text()
        out.append(f"{INDENT}↳ in the thread of {_one_line(update.reply_to.ref)}: ", style="dim")
        out.append(_one_line(update.heading), style="bold")
        out.append("\n" + INDENT)
        out.append(_one_line(" ".join(update.sentences)))
        sources = dict.fromkeys(_one_line(s) for s, _ in update.sources)
        if sources:
            out.append("\n" + INDENT)
            out.append(" · ".join(sources), style="green")
        return out

    async def post_update(self, channel: ChannelRef, digest: Digest, update: DigestUpdate) -> PostedMessage:
        self.console.print(self.render_update(update))
        return PostedMessage(ref=self._ref(), thread_ref=update.reply_to.thread_ref)

    async def post_parent(self, channel: ChannelRef, digest: Digest) -> PostedMessage:
        self.console.print(self.render_parent(digest))
        if digest.updates:
            self.console.print(self.render_developing(digest))
        ref = self._ref()
        return PostedMessage(ref=ref, thread_ref=ref)

    async def post_notice(self, channel: ChannelRef, text: str) -> PostedMessage:
        line = Text()
        line.append(f"━━ {channel} · ", style="bold magenta")
        line.append(_one_line(text))
        self.console.print(line)
        return PostedMessage(ref=self._ref())

    async def post_direct(self, channel: ChannelRef, user: str, text: str) -> PostedMessage:
        line = Text()
        line.append(f"━━ to {_one_line(user)} about {channel} · ", style="bold magenta")
        line.append(_one_line(text))
        self.console.print(line)
        return PostedMessage(ref=self._ref())

    async def post_story(
        self, channel: ChannelRef, digest: Digest, parent: PostedMessage, story: DigestStory, position: int
    ) -> PostedMessage:
        self.console.print(self.render_story(story, position))
        return PostedMessage(ref=self._ref(), thread_ref=parent.thread_ref)

    async def find_posted(
        self, channel: ChannelRef, digest: Digest, parent: PostedMessage | None, *, taken: Taken | None = None
    ) -> FoundPosts:
        # what was printed cannot be read back, and a print never loses its answer: only a crash
        # between printing and recording can show a line twice, on the terminal of the crash
        return FoundPosts()


def _one_line(value: str) -> str:
    # feed text must not break the thread layout with its own line breaks, nor reorder or hide
    # what is shown (bidi and zero-width characters: bot.text_safety); spaces at the ends stay,
    # since highlighted pieces are joined back together
    return safe_piece(_CONTROL.sub("", value))
