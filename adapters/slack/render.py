"""Block Kit for digests, notices and command replies, with every piece of feed text made inert.

Pure functions, no I/O: each returns the `text` (notification fallback) and `blocks` of one
message. Feed text is escaped (&, <, > -> entities), so no mention, broadcast or link markup
from a feed can take effect; Block Kit's limits (50 blocks, 3,000 characters) are kept here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.models import Digest, DigestStory, DigestUpdate, Reply, SearchResult, Span

MAX_BLOCKS = 50
SECTION_CHARS = 3000
HEADER_CHARS = 150
CONTEXT_CHARS = 2000  # kept well under the text-object limit: context lines are meant to be short
FALLBACK_CHARS = 3000  # notifications show a line or two; the hard limit (40,000) is never near
ELLIPSIS = "…"

Block = dict[str, Any]
Message = dict[str, Any]  # {"text": str, "blocks": list[Block]}

_SPACE = re.compile(r"\s+")
# characters that would end or split Slack's <url|label> markup, or that a URL never holds raw
_URL_UNSAFE = "".join(chr(c) for c in range(0x21)) + "<>|\x7f\"'`{}^\\"


def escape(text: str) -> str:
    """Slack's three control characters as entities, ampersand first (so &lt; is not doubled)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def one_line(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def safe_url(url: str | None) -> str | None:
    """An http(s) URL with the characters that could break out of <url|label> percent-encoded; else None."""
    if not url:
        return None
    url = url.strip()
    if not re.match(r"(?i)https?://[^\s/]", url):
        return None
    return quote(url, safe="".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in _URL_UNSAFE) + "%")


TITLE_CHARS = 250  # a headline longer than this is not a headline; it would crowd out the summary
URL_CHARS = 1000  # past this a link is shown as text: the section must stay under 3,000 characters


def link(url: str | None, label: str) -> str:
    """<url|label> with an escaped label; just the escaped label when the URL is unusable or too long."""
    clean = escape(clip_plain(one_line(label), TITLE_CHARS)).replace("|", "¦")
    target = safe_url(url)
    return f"<{target}|{clean}>" if target and len(target) <= URL_CHARS else clean


def _bold_text(text: str) -> str:
    # mrkdwn has no escape for '*': one inside a bold run would end it early
    return escape(text.replace("*", "").strip())


def _piece(text: str, bold: bool) -> str:
    inner = _bold_text(text) if bold else escape(text)
    return f"*{inner}*" if bold and inner else inner


def fit(pieces: list[tuple[str, bool]], limit: int) -> str:
    """Raw pieces (text, bold?) as escaped mrkdwn of at most `limit` characters, cut with an ellipsis.

    The cut is made in the raw text, so it never splits an entity (&amp;) or leaves an open bold.
    """
    rendered = [_piece(t, b) for t, b in pieces]
    if sum(map(len, rendered)) <= limit:
        return "".join(rendered)
    budget = limit - len(ELLIPSIS)
    out: list[str] = []
    used = 0
    for (text, bold), piece in zip(pieces, rendered, strict=True):
        if used + len(piece) <= budget:
            out.append(piece)
            used += len(piece)
            continue
        keep = len(text)
        while keep > 0 and used + len(_piece(text[:keep], bold)) > budget:
            # escaping only ever lengthens, so dropping by the overshoot is never too little
            keep -= max(1, (used + len(_piece(text[:keep], bold)) - budget) // 5)
        if keep > 0:
            out.append(_piece(text[:keep].rstrip(), bold))
        break
    return "".join(out).rstrip() + ELLIPSIS


def clip_plain(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def _highlighted(text: str, spans: tuple[Span, ...]) -> list[tuple[str, bool]]:
    pieces: list[tuple[str, bool]] = []
    cursor = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < cursor or span.end > len(text) or span.end <= span.start:
            continue  # overlapping or out of range: show the text plain rather than garble it
        pieces.append((text[cursor : span.start], False))
        pieces.append((text[span.start : span.end], True))
        cursor = span.end
    pieces.append((text[cursor:], False))
    # whitespace is normalised per piece, after slicing, so the spans stay aligned with the text
    out = [(_SPACE.sub(" ", t), b) for t, b in pieces if t]
    if out:
        out[0] = (out[0][0].lstrip(), out[0][1])
        out[-1] = (out[-1][0].rstrip(), out[-1][1])
    return [(t, b) for t, b in out if t]


def mrkdwn(text: str) -> Block:
    # verbatim: Slack must not turn bare URLs, #channel or @name in feed text into links or mentions
    return {"type": "mrkdwn", "text": text or " ", "verbatim": True}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text)]}


def _date(digest: Digest) -> str:
    return f"{digest.scheduled_for.astimezone(ZoneInfo(digest.timezone)):%a %d %b %Y}"


def parent_message(digest: Digest) -> Message:
    """The thread's parent: title, date, number of stories and the day's top entities."""
    count = len(digest.stories)
    size = f"{count} {'story' if count == 1 else 'stories'}" if count else "no new stories since the last digest"
    line: list[tuple[str, bool]] = [(_date(digest), True), (f" · {size}", False)]
    if digest.top_entities:
        line.append(("\nIn the news: ", False))
        for i, name in enumerate(digest.top_entities):
            line += [(", ", False)] if i else []
            line.append((one_line(name), True))
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip_plain(one_line(digest.title), HEADER_CHARS)}},
        section(fit(line, SECTION_CHARS)),
    ]
    if count:
        blocks.append(context("One reply per story in this thread."))
    fallback = f"{one_line(digest.title)} · {_date(digest)} · {size}"
    if digest.top_entities:
        fallback += " · " + ", ".join(one_line(e) for e in digest.top_entities)
    return {"text": escape(clip_plain(fallback, FALLBACK_CHARS)), "blocks": blocks}


def story_message(story: DigestStory, position: int) -> Message:
    """One story as a thread reply: linked headline, summary with key entities in bold, its sources."""
    title = one_line(story.title) or "(untitled)"
    head = f"*{link(story.url, f'{position}. {title}'.replace('*', ''))}*"
    body = fit(_highlighted(story.summary, story.highlights), max(0, SECTION_CHARS - len(head) - 1))
    blocks = [section(f"{head}\n{body}")]
    sources = [one_line(story.source) or "unknown source"]
    if story.published is not None:
        sources.append(f"{story.published:%d %b %Y}")
    line = " · ".join(escape(s) for s in sources)
    if story.also_covered_by:
        line += " · also covered by " + ", ".join(escape(one_line(s)) for s in story.also_covered_by)
    blocks.append(context(clip_plain(line, CONTEXT_CHARS)))
    fallback = f"{position}. {title} ({one_line(story.source)})"
    return {"text": escape(clip_plain(fallback, FALLBACK_CHARS)), "blocks": blocks}


def notice_message(text: str) -> Message:
    return {
        "text": escape(clip_plain(one_line(text), FALLBACK_CHARS)),
        "blocks": [section(fit([(text, False)], SECTION_CHARS))],
    }


def _result_block(result: SearchResult) -> Block:
    meta = [one_line(result.source)]
    if result.published is not None:
        meta.append(f"{result.published:%d %b %Y}")
    head = f"*{link(result.url, one_line(result.title) or '(untitled)')}*"
    meta_text = escape(clip_plain(" · ".join(meta), 200))
    # the head and meta are bounded, so the summary's budget is what is left: no markup is cut
    body = fit([(one_line(result.summary), False)], min(600, SECTION_CHARS - len(head) - len(meta_text) - 2))
    return section(f"{head}\n{body}\n{meta_text}")


def reply_message(reply: Reply) -> Message:
    """A command's answer: its lines escaped into as few sections as fit, then search results as a list."""
    lines = list(reply.lines) or ["Done."]
    if not reply.ok:
        lines[0] = "⚠️ " + lines[0]
    blocks: list[Block] = []
    chunk: list[str] = []
    for raw in lines:
        line = fit([(raw, False)], SECTION_CHARS)
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > SECTION_CHARS:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    blocks += [_result_block(r) for r in reply.results]
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[: MAX_BLOCKS - 1], context("(the rest was cut: Slack shows at most 50 blocks)")]
    fallback = "\n".join(lines[:3])
    return {"text": escape(clip_plain(fallback, FALLBACK_CHARS)), "blocks": blocks}


# --- follow-ups ("Developing") -------------------------------------------------------------------


def _update_sources(update: DigestUpdate) -> str:
    seen: dict[str, str | None] = {}
    for source, url in update.sources:
        seen.setdefault(one_line(source), url)
    return " · ".join(link(url, source) for source, url in seen.items())


def update_message(update: DigestUpdate) -> Message:
    """A follow-up as a reply in the story's earlier thread: what is new, in its own words, and its sources."""
    head = f"*{_bold_text(clip_plain(one_line(update.heading), TITLE_CHARS))}*"
    body = fit([(" ".join(one_line(s) for s in update.sentences), False)], SECTION_CHARS - len(head) - 1)
    blocks = [section(f"{head}\n{body}")]
    sources = _update_sources(update)
    if sources and len(sources) <= CONTEXT_CHARS:
        blocks.append(context(sources))
    fallback = f"{update.heading}: {' '.join(update.sentences)}"
    return {"text": escape(clip_plain(one_line(fallback), FALLBACK_CHARS)), "blocks": blocks}


def with_developing(message: Message, digest: Digest, links: Mapping[int, str]) -> Message:
    """The parent message with a short "Developing" section: per follow-up its headline, what is new
    in one line and a link to the earlier thread (`links`: permalink by the update's position)."""
    if not digest.updates:
        return message
    lines: list[str] = []
    for update in digest.updates:
        title = f"*{_bold_text(clip_plain(one_line(update.title) or '(untitled)', TITLE_CHARS))}*"
        new = fit([("New: " + one_line(update.what_is_new), False)], 300)
        where = links.get(update.position)
        earlier = f" · {link(where, 'earlier thread')}" if where else ""
        lines.append(f"{title} · {new}{earlier}")
    kept: list[str] = []
    for line in lines:  # whole lines only, so no markup is split
        if sum(len(k) + 1 for k in kept) + len(line) > SECTION_CHARS:
            break
        kept.append(line)
    text = "\n".join(kept) or lines[0][:SECTION_CHARS]
    blocks = [*message["blocks"], {"type": "header", "text": {"type": "plain_text", "text": "Developing"}}]
    blocks.append(section(text))
    heads = "; ".join(one_line(u.title) for u in digest.updates)
    fallback = f"{message['text']} · Developing: {escape(clip_plain(heads, 500))}"
    return {"text": fallback, "blocks": blocks[:MAX_BLOCKS]}
