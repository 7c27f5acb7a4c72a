"""Block Kit for digests, notices and command replies, with every piece of feed text shown literally.

Pure functions, no I/O: each returns the `text` (notification fallback) and `blocks` of one
message. Feed text goes into `rich_text` text elements and `plain_text` objects, which Slack
shows as written: mrkdwn has no escape for `*`, `_`, `~` or backticks (a backslash stays
visible), so mrkdwn would turn a headline's `_it_` into italics or have to drop characters.
Our own markup is structure, not characters: bold is a text element's style, the story link a
link element. Mentions in rich text are their own element types, so no feed text can ping.
Only the fallback `text` is mrkdwn, escaped (&, <, > -> entities). Block Kit's limits are kept here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.models import Digest, DigestStory, DigestUpdate, Reply, SearchResult, Span
from bot.text_safety import safe_chars, safe_line, safe_piece

MAX_BLOCKS = 50
SECTION_CHARS = 3000  # per block: the section limit, kept for rich text too (its own limit is undocumented)
HEADER_CHARS = 150
CONTEXT_CHARS = 2000  # kept well under the text-object limit: context lines are meant to be short
FALLBACK_CHARS = 3000  # notifications show a line or two; the hard limit (40,000) is never near
TITLE_CHARS = 250  # a headline longer than this is not a headline; it would crowd out the summary
URL_CHARS = 1000  # past this a link is shown as text: a message must stay small
ELLIPSIS = "…"

Block = dict[str, Any]
Element = dict[str, Any]
Message = dict[str, Any]  # {"text": str, "blocks": list[Block]}

# characters a URL never holds raw; percent-encoded so the link is exactly the feed's address
_URL_UNSAFE = "".join(chr(c) for c in range(0x21)) + "<>|\x7f\"'`{}^\\"
_URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in _URL_UNSAFE) + "%"


def escape(text: str) -> str:
    """Slack's three control characters as entities, ampersand first (so &lt; is not doubled)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def one_line(text: str) -> str:
    return safe_line(text)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL with the characters a URL never holds raw percent-encoded; else None."""
    if not url:
        return None
    url = url.strip()
    if not re.match(r"(?i)https?://[^\s/]", url):
        return None
    return quote(url, safe=_URL_SAFE)


def clip_plain(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


# --- rich text --------------------------------------------------------------------------------


def text_element(text: str, bold: bool = False) -> Element:
    element: Element = {"type": "text", "text": text}
    if bold:
        element["style"] = {"bold": True}
    return element


def link_element(url: str | None, label: str, bold: bool = False) -> Element:
    """The label linked to the URL; just the label as text when the URL is unusable or too long."""
    target = safe_url(url)
    if not target or len(target) > URL_CHARS:
        return text_element(label, bold)
    element: Element = {"type": "link", "url": target, "text": label}
    if bold:
        element["style"] = {"bold": True}
    return element


def rich(*lines: list[Element]) -> Block:
    """One rich_text block holding the lines, joined by line breaks (as Slack's own composer does)."""
    elements: list[Element] = []
    for i, line in enumerate(lines):
        elements += ([text_element("\n")] if i else []) + line
    section = {"type": "rich_text_section", "elements": elements or [text_element(" ")]}
    return {"type": "rich_text", "elements": [section]}


def plain(text: str) -> Element:
    # emoji=False: a feed's ":fire:" stays those six characters
    return {"type": "plain_text", "text": text or " ", "emoji": False}


def context(text: str) -> Block:
    return {"type": "context", "elements": [plain(clip_plain(text, CONTEXT_CHARS))]}


def pieces_of(text: str, spans: tuple[Span, ...] | list[Span] = ()) -> list[tuple[str, bool]]:
    """(text, bold?) pieces of `text` on one line, the spans (key entities) bold, made safe per piece.

    Each piece is cleaned after slicing, so the spans stay aligned with the text they index.
    """
    pieces: list[tuple[str, bool]] = []
    cursor = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < cursor or span.end > len(text) or span.end <= span.start:
            continue  # overlapping or out of range: show the text plain rather than garble it
        pieces.append((safe_piece(text[cursor : span.start]), False))
        pieces.append((safe_line(text[span.start : span.end]), True))
        cursor = span.end
    pieces.append((safe_piece(text[cursor:]), False))
    out = [(t, b) for t, b in pieces if t]
    if out:
        out[0] = (out[0][0].lstrip(), out[0][1])
        out[-1] = (out[-1][0].rstrip(), out[-1][1])
    return [(t, b) for t, b in out if t]


def fit(pieces: list[tuple[str, bool]], limit: int) -> list[Element]:
    """Text elements for the pieces, at most `limit` characters in all, cut at a word with an ellipsis."""
    total = sum(len(t) for t, _ in pieces)
    if total <= limit:
        return [text_element(t, b) for t, b in pieces]
    budget = max(0, limit - len(ELLIPSIS))
    out: list[Element] = []
    used = 0
    for text, bold in pieces:
        if used + len(text) <= budget:
            out.append(text_element(text, bold))
            used += len(text)
            continue
        keep = text[: budget - used]
        space = keep.rfind(" ")
        if not bold and space > len(keep) * 0.7:
            keep = keep[:space]  # cut at a word unless that loses too much
        if keep.strip() and not bold:  # a key entity is never cut in half
            out.append(text_element(keep.rstrip()))
        break
    out.append(text_element(ELLIPSIS))
    return out


def _length(elements: list[Element]) -> int:
    return sum(len(e.get("text", "")) for e in elements)


# --- messages ---------------------------------------------------------------------------------


def _date(digest: Digest) -> str:
    return f"{digest.scheduled_for.astimezone(ZoneInfo(digest.timezone)):%a %d %b %Y}"


def _fallback(text: str) -> str:
    return escape(clip_plain(text, FALLBACK_CHARS))


def parent_message(digest: Digest) -> Message:
    """The thread's parent: title, date, number of stories and the day's top entities."""
    count = len(digest.stories)
    size = f"{count} {'story' if count == 1 else 'stories'}" if count else "no new stories since the last digest"
    if not count and digest.updates:  # a digest of follow-ups only is not "nothing new"
        size = f"no new stories, {len(digest.updates)} developing"
    title = one_line(digest.title)
    line: list[tuple[str, bool]] = [(_date(digest), True), (f" · {size}", False)]
    if digest.top_entities:
        line.append(("\nIn the news: ", False))
        for i, name in enumerate(digest.top_entities):
            line += [(", ", False)] if i else []
            line.append((one_line(name), True))
    blocks: list[Block] = [
        {"type": "header", "text": plain(clip_plain(title, HEADER_CHARS))},
        rich(fit(line, SECTION_CHARS)),
    ]
    if count:
        blocks.append(context("One reply per story in this thread."))
    fallback = f"{title} · {_date(digest)} · {size}"
    if digest.top_entities:
        fallback += " · " + ", ".join(one_line(e) for e in digest.top_entities)
    return {"text": _fallback(fallback), "blocks": blocks}


def story_message(story: DigestStory, position: int) -> Message:
    """One story as a thread reply: linked bold headline, summary with key entities in bold, its sources."""
    title = clip_plain(one_line(story.title) or "(untitled)", TITLE_CHARS)
    head = link_element(story.url, f"{position}. {title}", bold=True)
    room = max(0, SECTION_CHARS - len(head["text"]) - 1)
    body = fit(pieces_of(story.summary, story.highlights), room)
    blocks = [rich([head], body) if body else rich([head])]
    sources = [one_line(story.source) or "unknown source"]
    if story.published is not None:
        sources.append(f"{story.published:%d %b %Y}")
    line = " · ".join(sources)
    if story.also_covered_by:
        line += " · also covered by " + ", ".join(one_line(s) for s in story.also_covered_by)
    blocks.append(context(line))
    return {"text": _fallback(f"{position}. {title} ({one_line(story.source)})"), "blocks": blocks}


def notice_message(text: str) -> Message:
    return {"text": _fallback(one_line(text)), "blocks": [rich(fit(pieces_of(text), SECTION_CHARS))]}


def _result_block(result: SearchResult) -> Block:
    meta = [one_line(result.source)]
    if result.published is not None:
        meta.append(f"{result.published:%d %b %Y}")
    title = clip_plain(one_line(result.title) or "(untitled)", TITLE_CHARS)
    meta_text = clip_plain(" · ".join(meta), 200)
    body = fit(pieces_of(result.summary), 600)
    return rich([link_element(result.url, title, bold=True)], body, [text_element(meta_text)])


def reply_message(reply: Reply) -> Message:
    """A command's answer: its lines in as few blocks as fit, then search results as a list."""
    lines = list(reply.lines) or ["Done."]
    if not reply.ok:
        lines[0] = "⚠️ " + lines[0]
    blocks: list[Block] = []
    chunk: list[list[Element]] = []
    for raw in lines:
        # our own line (its spacing is ours), quoting feed or user text: only invisible characters go
        line = fit([(safe_chars(raw), False)], SECTION_CHARS) if raw else [text_element(" ")]
        if chunk and sum(_length(x) for x in chunk) + _length(line) > SECTION_CHARS:
            blocks.append(rich(*chunk))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(rich(*chunk))
    blocks += [_result_block(r) for r in reply.results]
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[: MAX_BLOCKS - 1], context("(the rest was cut: Slack shows at most 50 blocks)")]
    return {"text": _fallback("\n".join(safe_chars(x) for x in lines[:3])), "blocks": blocks}


# --- follow-ups ("Developing") -------------------------------------------------------------------


def _update_sources(update: DigestUpdate) -> list[Element]:
    seen: dict[str, str | None] = {}
    for source, url in update.sources:
        seen.setdefault(one_line(source), url)
    elements: list[Element] = []
    for i, (source, url) in enumerate(seen.items()):
        elements += ([text_element(" · ")] if i else []) + [link_element(url, source)]
    return elements


def update_message(update: DigestUpdate) -> Message:
    """A follow-up as a reply in the story's earlier thread: what is new, in its own words, and its sources."""
    heading = clip_plain(one_line(update.heading), TITLE_CHARS)
    body = fit(pieces_of(" ".join(update.sentences)), SECTION_CHARS - len(heading) - 1)
    blocks = [rich([text_element(heading, bold=True)], body) if body else rich([text_element(heading, bold=True)])]
    sources = _update_sources(update)
    if sources and _length(sources) <= CONTEXT_CHARS:
        blocks.append(rich(sources))
    fallback = f"{update.heading}: {' '.join(update.sentences)}"
    return {"text": _fallback(one_line(fallback)), "blocks": blocks}


def with_developing(message: Message, digest: Digest, links: Mapping[int, str]) -> Message:
    """The parent message with a short "Developing" section: per follow-up its headline, what is new
    in one line and a link to the earlier thread (`links`: permalink by the update's position)."""
    if not digest.updates:
        return message
    lines: list[list[Element]] = []
    for update in digest.updates:
        title = clip_plain(one_line(update.title) or "(untitled)", TITLE_CHARS)
        line = [text_element(title, bold=True), text_element(" · "), *fit(pieces_of("New: " + update.what_is_new), 300)]
        where = links.get(update.position)
        if where:
            line += [text_element(" · "), link_element(where, "earlier thread")]
        lines.append(line)
    kept: list[list[Element]] = []
    for line in lines:  # whole lines only
        if sum(_length(k) + 1 for k in kept) + _length(line) > SECTION_CHARS:
            break
        kept.append(line)
    blocks = [*message["blocks"], {"type": "header", "text": plain("Developing")}, rich(*(kept or lines[:1]))]
    heads = "; ".join(one_line(u.title) for u in digest.updates)
    fallback = f"{message['text']} · Developing: {escape(clip_plain(heads, 500))}"
    return {"text": fallback, "blocks": blocks[:MAX_BLOCKS]}
