"""Discord rendering: digests, stories and command replies as embeds or markdown, within Discord's limits.

Pure functions, no network: feed text always goes through `inert()` (escape_markdown plus
neutralised mentions and masked links) before key entities are wrapped in `**bold**`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import discord

from bot.models import Digest, DigestStory, DigestUpdate, Reply, SearchResult, Span
from bot.text_safety import safe_chars, safe_line, safe_piece

# Discord's documented limits (message content, embed parts, thread names)
CONTENT_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
THREAD_NAME_LIMIT = 100
EMBED_COLOUR = 0x2B6CB0

_SPACE = re.compile(r"\s+")
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)
# <@user>, <@&role>, <#channel>, </command:id>, <:emoji:id>, <a:emoji:id>, <t:timestamp>
_ANGLE_TOKEN = re.compile(r"<(?=[@#/:]|a:|t:)")
_ORDERED_LIST = re.compile(r"^(\s*\d+)\.(?=\s)", re.MULTILINE)
_ANGLE_LINK = re.compile(r"<(?=https?:)", re.IGNORECASE)
_BRACKET = "\x00"
_ZWSP = "\u200b"


def one_line(value: str) -> str:
    """Feed text on one line and made safe (bot.text_safety): its line breaks must not break a layout."""
    return safe_line(value.replace(_BRACKET, ""))


def inert(value: str) -> str:
    """Feed or user text made inert for Discord markdown: no styling, no masked links, no mentions.

    escape_markdown escapes only the first of several masked links on a line, so every "["
    is escaped here instead, and it leaves "1. " (an ordered list at a line's start) and
    "<https://...>" (a link that hides its brackets) alone, so those are escaped too. Discord
    shows a backslash-escaped character as the character. A zero-width space after "@" or "<"
    breaks mentions and channel/emoji/timestamp tokens, as discord.utils.escape_mentions does
    (AllowedMentions.none() already stops the pings).
    """
    text = value.replace(_BRACKET, "").replace("[", _BRACKET)
    text = discord.utils.escape_markdown(text)
    text = text.replace(_BRACKET, "\\[")
    text = _ORDERED_LIST.sub(r"\1\\.", text)
    text = _ANGLE_LINK.sub("\\\\<", text)
    text = _MASS_MENTION.sub(lambda m: "@" + _ZWSP + m.group(1), text)
    return _ANGLE_TOKEN.sub("<" + _ZWSP, text)


def plain(value: str) -> str:
    """Text for places Discord shows without markdown (embed footers, thread names): mentions still broken."""
    text = _MASS_MENTION.sub(lambda m: "@" + _ZWSP + m.group(1), one_line(value))
    return _ANGLE_TOKEN.sub("<" + _ZWSP, text)


def marked(value: str, spans: Sequence[Span] = (), bold: bool = True) -> str:
    """`value` on one line and made inert, with the spans (key entities) in **bold**."""
    out: list[str] = []
    cursor = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < cursor or span.end > len(value) or span.start >= span.end:
            continue  # overlapping or out of range: leave the text unstyled rather than garble it
        out.append(inert(_collapse(value[cursor : span.start])))
        entity = inert(one_line(value[span.start : span.end]))
        out.append(f"**{entity}**" if bold and entity else entity)
        cursor = span.end
    out.append(inert(_collapse(value[cursor:])))
    return _SPACE.sub(" ", "".join(out)).strip()


def fit(value: str, spans: Sequence[Span], limit: int, bold: bool = True) -> str:
    """`marked(value, spans)`, cut at a word with an ellipsis so the rendered text is at most `limit`."""
    full = marked(value, spans, bold)
    if len(full) <= limit:
        return full
    # escaping lengthens text unpredictably, so search for the longest raw prefix that fits
    low, high, best = 0, len(value), "…"[:limit]
    while low <= high:
        mid = (low + high) // 2
        cut = value[:mid]
        space = cut.rstrip().rfind(" ")
        if mid < len(value) and space > mid * 0.7:  # cut at a word unless that loses too much
            cut = cut[:space]
        kept = [s for s in spans if s.end <= len(cut)]
        rendered = marked(cut, kept, bold).rstrip(" ,;:") + "…"
        if len(rendered) <= limit:
            best, low = rendered, mid + 1
        else:
            high = mid - 1
    return best


def _collapse(value: str) -> str:
    return safe_piece(value.replace(_BRACKET, ""))


def safe_url(url: str | None) -> str | None:
    """The URL if Discord will accept it as a link (http(s), no spaces or angle brackets), else None."""
    if not url or len(url) > 2048 or not re.match(r"https?://[^\s/<>]+", url):
        return None
    if re.search(r"[\s<>]", url):
        return None
    return url


def local_date(digest: Digest) -> str:
    try:
        zone = ZoneInfo(digest.timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return f"{digest.scheduled_for.astimezone(zone):%a %d %b %Y}"


def _count(n: int) -> str:
    return f"{n} {'story' if n == 1 else 'stories'}"


def thread_name(digest: Digest) -> str:
    name = plain(f"{digest.title} · {local_date(digest)}")
    return name[: THREAD_NAME_LIMIT - 1] + "…" if len(name) > THREAD_NAME_LIMIT else name


# --- digests -------------------------------------------------------------------------------


def parent_text(digest: Digest) -> str:
    """The parent message in markdown: title, date, count and the digest's top entities in bold."""
    head = parent_head(digest)
    if digest.top_entities:
        entities = ", ".join(f"**{inert(one_line(e))}**" for e in digest.top_entities)
        if len(head) + 3 + len(entities) <= CONTENT_LIMIT:
            head += " · " + entities
    return head[:CONTENT_LIMIT]


def _what(digest: Digest) -> str:
    if digest.stories:
        return _count(len(digest.stories))
    # a digest of follow-ups only is not "nothing new"
    return (
        f"no new stories, {len(digest.updates)} developing"
        if digest.updates
        else "no new stories since the last digest"
    )


def parent_head(digest: Digest) -> str:
    """How the parent message's text starts (title, date, count): what tells it apart, the no-news line
    of the same day included, when it is looked for later."""
    return f"**{inert(one_line(digest.title))}** · {local_date(digest)} · {_what(digest)}"


def parent_embed_title(digest: Digest) -> str:
    return fit(f"{digest.title} · {local_date(digest)}", (), EMBED_TITLE_LIMIT)


_STORY_POSITION = re.compile(r"(?:\*\*)?(\d+)\. ")


def story_position(content: str, embed_titles: Sequence[str]) -> int | None:
    """The position a story message stands for ("**3. Title**" or an embed titled "3. Title")."""
    for text in (content, *embed_titles):
        m = _STORY_POSITION.match(text or "")
        if m:
            return int(m.group(1))
    return None


def parent_embed_description(digest: Digest) -> str:
    """How the parent embed's description starts (the count): see parent_head."""
    if digest.stories:
        return _count(len(digest.stories)) + ", one message each in the thread below."
    if digest.updates:
        return f"No new stories, {len(digest.updates)} developing."
    return "No new stories since the last digest."


def parent_embed(digest: Digest) -> discord.Embed:
    title = parent_embed_title(digest)
    description = parent_embed_description(digest)
    if digest.top_entities:
        description += "\n" + ", ".join(f"**{inert(one_line(e))}**" for e in digest.top_entities)
    return discord.Embed(title=title, description=description[:EMBED_DESCRIPTION_LIMIT], colour=EMBED_COLOUR)


def _credits(story: DigestStory) -> str:
    parts = [one_line(story.source)]
    if story.also_covered_by:
        parts.append("also covered by " + ", ".join(one_line(s) for s in story.also_covered_by))
    return " · ".join(p for p in parts if p)


def _numbered(story: DigestStory, position: int) -> str:
    # our own numbering stays as is; only the feed's title is escaped (its own "1. " would be a list)
    prefix = f"{position}. "
    return prefix + fit(story.title, (), EMBED_TITLE_LIMIT - len(prefix), bold=False)


def story_text(story: DigestStory, position: int) -> str:
    """One story as a markdown message: bold title line, summary with bold entities, a small credits line."""
    title = _numbered(story, position)
    credits = inert(_credits(story))
    url = safe_url(story.url)
    tail = f"-# {credits}" + (f" · <{url}>" if url else "")
    if len(tail) > 600:
        tail = f"-# {fit(_credits(story), (), 400)}" + (f" · <{url}>" if url and len(url) < 1000 else "")
    room = CONTENT_LIMIT - len(title) - len(tail) - 6
    summary = fit(story.summary, story.highlights, max(room, 0)) if story.summary.strip() else ""
    lines = [f"**{title}**", summary, tail] if summary else [f"**{title}**", tail]
    return "\n".join(lines)[:CONTENT_LIMIT]


def story_embed(story: DigestStory, position: int) -> discord.Embed:
    """One story as an embed: linked title, summary with bold entities, source in the footer, date."""
    title = _numbered(story, position)
    footer = plain(_credits(story))[:EMBED_FOOTER_LIMIT]
    room = min(EMBED_DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - len(title) - len(footer))
    description = fit(story.summary, story.highlights, room) if story.summary.strip() else None
    embed = discord.Embed(
        title=title,
        url=safe_url(story.url),
        description=description,
        colour=EMBED_COLOUR,
        timestamp=story.published,
    )
    if footer:
        embed.set_footer(text=footer)
    return embed


# --- command replies -------------------------------------------------------------------------


EMBED_BUDGET = 5900  # under Discord's 6,000 characters of embeds per message, with room for rounding


def reply_chunks(reply: Reply, style: str) -> list[tuple[str, list[discord.Embed]]]:
    """A command's reply as messages of at most 2,000 characters and 10 embeds, lines made inert."""
    lines = [inert(safe_chars(line)) for line in reply.lines] or ["Done."]
    embeds: list[discord.Embed] = []
    if reply.results:
        if style == "embeds":
            embeds = [result_embed(r) for r in reply.results]
        else:
            lines += [result_line(i, r) for i, r in enumerate(reply.results, start=1)]
    messages: list[tuple[str, list[discord.Embed]]] = [(text, []) for text in _pack(lines)]
    # embeds go into messages by count and by Discord's 6,000-character total per message
    batches: list[list[discord.Embed]] = []
    for embed in embeds:
        last = batches[-1] if batches else None
        if last is None or len(last) >= EMBEDS_PER_MESSAGE or sum(len(e) for e in last) + len(embed) > EMBED_BUDGET:
            batches.append([embed])
        else:
            last.append(embed)
    for i, batch in enumerate(batches):
        if i == 0 and messages:
            messages[0][1].extend(batch)
        else:
            messages.append(("", batch))
    return [(text, list(batch)) for text, batch in messages]


def _pack(lines: Iterable[str]) -> list[str]:
    messages: list[str] = []
    current = ""
    for line in lines:
        while len(line) > CONTENT_LIMIT:  # a single huge line (a long error) is split, not dropped
            if current:
                messages.append(current)
                current = ""
            messages.append(line[:CONTENT_LIMIT])
            line = line[CONTENT_LIMIT:]
        if current and len(current) + 1 + len(line) > CONTENT_LIMIT:
            messages.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        messages.append(current)
    return messages


def _when(published: datetime | None) -> str:
    return f" · {published:%d %b %Y}" if published else ""


def result_line(index: int, result: SearchResult) -> str:
    url = safe_url(result.url)
    head = f"{index}. **{fit(result.title, (), 300, bold=False)}**"
    line = f"{head} — {fit(result.summary, (), 700)}\n-# {inert(one_line(result.source))}{_when(result.published)}"
    return line + (f" · <{url}>" if url else "")


def result_embed(result: SearchResult) -> discord.Embed:
    embed = discord.Embed(
        title=fit(result.title, (), EMBED_TITLE_LIMIT, bold=False),
        url=safe_url(result.url),
        description=fit(result.summary, (), 1000) or None,
        colour=EMBED_COLOUR,
        timestamp=result.published,
    )
    embed.set_footer(text=plain(result.source)[:EMBED_FOOTER_LIMIT] or "newsbot")
    return embed


# --- follow-ups ("Developing") -------------------------------------------------------------------

UPDATE_MARK = "**Update · "  # how a follow-up's text starts: find_posted looks for it


def jump_url(guild_id: int | None, channel_id: str | None, message_id: str) -> str | None:
    """Discord's link to a message (in a thread: the thread is the channel); None without a guild."""
    if guild_id is None or not channel_id or not channel_id.isdigit() or not message_id.isdigit():
        return None
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def update_text(update: DigestUpdate) -> str:
    """A follow-up as a reply in the story's thread: bold heading, the new sentences, a small sources line."""
    head = f"{UPDATE_MARK}{fit(update.heading.removeprefix('Update · '), (), 300, bold=False)}**"
    links = dict.fromkeys((one_line(s), safe_url(u)) for s, u in update.sources)
    tail = "-# " + " · ".join(inert(s) + (f" <{u}>" if u and len(u) < 500 else "") for s, u in links)
    tail = tail if len(tail) <= 800 else "-# " + fit(", ".join(s for s, _ in links), (), 400, bold=False)
    room = CONTENT_LIMIT - len(head) - len(tail) - 4
    body = fit(" ".join(one_line(s) for s in update.sentences), (), max(room, 0), bold=False)
    return "\n".join(x for x in (head, body, tail if links else "") if x)[:CONTENT_LIMIT]


def developing_text(digest: Digest, links: Mapping[int, str | None]) -> str:
    """The parent's "Developing" section: per follow-up its headline, what is new and a jump link."""
    lines = ["**Developing**"]
    for update in digest.updates:
        title = fit(update.title or "(untitled)", (), 200, bold=False)
        new = fit("New: " + update.what_is_new, (), 300, bold=False)
        where = links.get(update.position)
        lines.append(f"- **{title}** · {new}" + (f" · <{where}>" if where else ""))
    return "\n".join(lines)
