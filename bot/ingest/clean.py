"""Turn feed HTML or text into plain paragraphs and drop publisher boilerplate.

Pure functions, no I/O and no ports: `clean_content` is the one call the pipeline makes;
`markup_to_line` is for titles, authors and feed names; `extract_article` turns a whole article
page into text (trafilatura when installed). HTML is read as the stdlib's `html.parser` reads it:
a regex tokenizer covers the well-formed markup feeds nearly always hold (several times faster),
and anything outside it goes to `html.parser` itself.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

from bot.text_safety import safe_line

__all__ = [
    "clean_content",
    "extract_article",
    "html_to_text",
    "looks_like_html",
    "markup_to_line",
    "strip_boilerplate",
]

# Elements whose start and end both break a paragraph.
# fmt: off
_BLOCK_TAGS = frozenset({
    "address", "article", "blockquote", "body", "center", "dd", "details", "dialog", "dir", "div",
    "dl", "dt", "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hgroup", "hr", "html", "li", "main", "menu", "ol", "p", "pre", "section", "summary",
    "table", "tbody", "tfoot", "thead", "tr", "ul",
})
# fmt: on
# Elements whose whole content is dropped: code, page chrome and image captions, none of which
# is article prose a summary should quote.
# fmt: off
_SKIP_TAGS = frozenset({
    "aside", "audio", "button", "canvas", "embed", "figcaption", "head", "iframe", "map", "nav",
    "noscript", "object", "script", "select", "style", "svg", "template", "textarea", "title",
    "video",
})
# fmt: on
_CELL_TAGS = frozenset({"td", "th"})
# Invisible and bidi controls would break word matching downstream and can disguise text:
# bot.text_safety removes them, with every run of whitespace made one space.
_collapse = safe_line


class _TextExtractor(HTMLParser):
    """Collects text as paragraphs of lines; see `html_to_text` for the rules."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[list[str]] = []
        self._lines: list[str] = []
        self._line: list[str] = []
        # Open skipped elements, innermost last. Closing one also closes any left unclosed
        # inside it, so a stray <nav> in an <aside> cannot swallow the rest of the document.
        self._skipping: list[str] = []

    def _end_line(self) -> None:
        line = _collapse("".join(self._line))
        self._line = []
        if line:
            self._lines.append(line)

    def _end_paragraph(self) -> None:
        self._end_line()
        if self._lines:
            self.paragraphs.append(self._lines)
            self._lines = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping.append(tag)
        elif tag == "br":
            self._end_line()
        elif tag in _BLOCK_TAGS:
            self._end_paragraph()
        elif tag in _CELL_TAGS:
            self._line.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <hr/>, and self-closed <div/> must not open a skip region.
        if tag == "br":
            self._end_line()
        elif tag in _BLOCK_TAGS:
            self._end_paragraph()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            while tag in self._skipping and self._skipping.pop() != tag:
                pass
        elif tag == "br":  # "</br>" is common in feeds and browsers treat it as <br>
            self._end_line()
        elif tag in _BLOCK_TAGS:
            self._end_paragraph()
        elif tag in _CELL_TAGS:
            self._line.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._line.append(data)

    def close(self) -> None:
        super().close()
        self._end_paragraph()


# The well-formed subset of HTML that feed content is almost always written in, one token per
# match, each matching exactly the span `html.parser` reads as that token: text, a start tag with
# plain attributes (`slash` set when self-closed), an end tag, a comment, a doctype, and a "<"
# that starts nothing (which it passes on as text). Anything else (odd attribute syntax, marked
# sections, processing instructions, an unterminated comment or tag) matches nothing here, and
# the fragment goes to `html.parser` whole.
_FAST_TOKEN = re.compile(
    r"""
    (?P<text>[^<]+)
    |<(?P<start>[a-zA-Z][-.:_a-zA-Z0-9]*)
      (?:[ \t\n\r\f]+[a-zA-Z_:][-.:_a-zA-Z0-9]*
        (?:[ \t\n\r\f]*=[ \t\n\r\f]*(?:"[^"]*"|'[^']*'|[^\s"'<>]+))?
      )*
      [ \t\n\r\f]*(?P<slash>/?)>
    |</(?P<end>[a-zA-Z][-.:_a-zA-Z0-9]*)[ \t\n\r\f]*>
    |<!--.*?--\s*>
    |<![dD][oO][cC][tT][yY][pP][eE][^>]*>
    |(?P<lt><)(?![a-zA-Z/!?])
    """,
    re.VERBOSE | re.DOTALL,
)
# html.parser reads script and style content as raw text up to these closing tags.
_RAW_TEXT_END = {
    "script": re.compile(r"</\s*script\s*>", re.IGNORECASE),
    "style": re.compile(r"</\s*style\s*>", re.IGNORECASE),
}
# Tags that change the output; any other tag only joins the text around it.
_STRUCTURE_TAGS = _BLOCK_TAGS | _SKIP_TAGS | _CELL_TAGS | {"br"}
_NO_ATTRS: list[tuple[str, str | None]] = []
# A CDATA section inside feed HTML is left by a publisher wrapping HTML that was already wrapped,
# often with the inner "]]>" escaped; its content is that HTML. html.parser would drop a closed
# section with its content and keep an unterminated marker as text.
_CDATA_SECTION = re.compile(r"<!\[CDATA\[(.*?)(?:\]\]>|\]\]&gt;|\Z)", re.DOTALL | re.IGNORECASE)


def _fast_extract(html: str) -> _TextExtractor | None:
    """`html` tokenised as `html.parser` would, for the subset `_FAST_TOKEN` covers; else None."""
    out = _TextExtractor()
    match = _FAST_TOKEN.match
    pos, size = 0, len(html)
    while pos < size:
        m = match(html, pos)
        if m is None:
            return None
        pos = m.end()
        kind = m.lastgroup
        if kind == "text":
            out.handle_data(unescape(m.group("text")))
        elif kind == "slash":
            tag = m.group("start").lower()
            if m.group("slash"):
                if tag in _STRUCTURE_TAGS:
                    out.handle_startendtag(tag, _NO_ATTRS)
                continue
            if tag in _STRUCTURE_TAGS:
                out.handle_starttag(tag, _NO_ATTRS)
            raw_text_end = _RAW_TEXT_END.get(tag)
            if raw_text_end is not None:
                closing = raw_text_end.search(html, pos)
                if closing is None:
                    break  # html.parser drops everything after an unclosed one
                # passed on undecoded, as html.parser does (dropped anyway while both are skipped)
                out.handle_data(html[pos : closing.start()])
                pos = closing.start()
        elif kind == "end":
            tag = m.group("end").lower()
            if tag in _STRUCTURE_TAGS:
                out.handle_endtag(tag)
        elif kind == "lt":
            out.handle_data("<")
    out._end_paragraph()
    return out


def _html_paragraphs(html: str) -> list[list[str]]:
    if "<" not in html:
        line = _collapse(unescape(html))
        return [[line]] if line else []
    if "<![" in html:
        html = _CDATA_SECTION.sub(r"\1", html)
    parser = _fast_extract(html)
    if parser is None:
        parser = _TextExtractor()
        parser.feed(html)
        parser.close()
    return parser.paragraphs


def _join(paragraphs: list[list[str]]) -> str:
    return "\n\n".join("\n".join(lines) for lines in paragraphs)


def html_to_text(html: str) -> str:
    """Convert an HTML fragment to plain text.

    Block elements become paragraphs separated by one blank line, ``<br>`` becomes a newline,
    whitespace inside a line collapses to single spaces, entities are decoded, and script,
    style, nav, aside, figure captions and form controls are dropped with their content. A
    CDATA section's markers are dropped and its content read as HTML.
    """
    return _join(_html_paragraphs(html)) if html else ""


_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9:-]*(?:\s[^<>]*)?/?>")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")


def looks_like_html(text: str) -> bool:
    """True when `text` holds a tag, a character reference or a CDATA marker, i.e. it needs HTML
    decoding."""
    return bool(_TAG.search(text) or _ENTITY.search(text)) or "<![CDATA[" in text


# --- boilerplate ---------------------------------------------------------------------------

# fmt: off
_SOCIAL_WORDS = frozenset({
    "bluesky", "buffer", "copy", "digg", "e-mail", "email", "facebook", "flipboard", "link",
    "linkedin", "mail", "mastodon", "messenger", "more", "pinterest", "pocket", "print", "reddit",
    "share", "skype", "telegram", "threads", "tumblr", "tweet", "twitter", "whatsapp", "x",
})
# fmt: on

# Each pattern must match the whole line (after whitespace collapsing), case-insensitively.
# They are anchored so that prose which merely mentions "share" or "reply" survives.
_LINE_PATTERNS = [
    # share prompts
    r"spread the love",
    r"(?:please )?share (?:this|the)(?: article| story| post| page| video)?(?: with your friends)?\s*[:!.]?",
    r"share\s*[:!]?",
    r"(?:click to )?share (?:on|via|to|with) (?:\w+)(?: \(opens in new window\))?[.:]?",
    r"click to (?:share|email|print|tweet)\b.*",
    r"(?:like this|like loading\.*|loading\.*)\s*:?",
    r"follow us(?: on \w+(?:(?:,| and| &| or) \w+)*)?\s*[.!:]?",
    r"follow (?:\w+ )?via e-?mail",
    r"(?:advertisement|advertisements|sponsored(?: content)?|ad)",
    # cross-links (the whole line is a teaser for another article)
    r"(?:read also|also read|read more|see also|related(?: stories| articles| posts| coverage| links)?|recommended"
    r"|further reading"
    r"|you (?:may|might) also like|more stories|more on this story|watch|listen)\s*(?:[:|>»]+|[-–—]+(?=\s)).*",
    r"(?:read more|continue reading|keep reading|read the full (?:story|article))\b.{0,120}",
    # comment prompts
    r"leave a (?:reply|comment)(?: cancel reply)?\.?",
    r"(?:post|add|write|leave) (?:a |your )?comments?\s*[.!]?",
    r"recent comments",
    r"your e-?mail address will not be published\..{0,120}",
    r"cancel reply",
    r"(?:(?:\d+|no|one) )?comments?(?: so far)?\.?",
    r"(?:submitted by /?u/\S+\s*)?\[link\]\s*\[(?:\d+ )?comments?\]",  # Reddit's footer
    r"comments? \(\d+\)",
    r"(?:join|view|show) (?:the )?(?:conversation|discussion|comments)\.?",
    r"you must be logged in to post a comment\.?",
    # copyright lines
    r"(?:©|\(c\)|copyright\s*(?:©|\(c\)|\d{4})).{0,200}",
    r".{0,150}\ball rights reserved\b.{0,150}",
    # WordPress feed footer
    r"the post .+ appeared first on .+",
    # cookie banners
    r"(?:we use|this (?:web)?site uses|our (?:web)?site uses|by (?:continuing|using)|accept"
    r"|manage)\b.{0,200}\bcookies?\b.{0,200}",
    r"cookie (?:policy|settings|preferences)\.?",
    r"newsletters?",
    # aggregator furniture, measured on ../shared/data/feeds/realworld (docs/decisions.md lists what goes)
    r"submitted by\s+/?u/\S+(?:\s+to\s+/?r/\S+)?(?:\s*\[link\])?(?:\s*\[comments?\])?",  # reddit
    r"(?:learn more|more\s*(?:\.{3}|…)|\(?(?:leer más|mehr|weiterlesen|lire la suite|leggi (?:tutto|di più)"
    r"|saiba mais|ver más)\)?(?:\s*(?:\.{3}|…|»|>))?)",
    r"views:\s*[\d,.]+|[\d,.]+ ratings?|time:\s*\d+:\d{2}(?: more in .{1,60})?|from:\s*\S+",  # video pages
    r"\d+ (?:people|person) calls? this (?:\[?photo\b.*|photo) a favou?rite\.?",
    r"datum:.{0,40}foto weergeven",
    # ad blurbs
    r"(?:advertisement|sponsored|promoted|paid (?:post|content)|partner content|anzeige|publicidad|pubblicit[àa])"
    r"(?:\s*[:|–—]\s*.{0,160}|\s+-\s+.{0,160})?",
    r"(?:this (?:post|article|episode|story|newsletter) (?:is|was) )?(?:sponsored|brought to you) by .{1,80}",
    r"need to hire a really great programmer\?.{0,200}",
    # live-blog filler
    r"(?:updated at |posted at )?\d{1,2}[.:]\d{2}\s*(?:am|pm)?\s*(?:gmt|bst|utc|cet|cest|et|est|edt|pt|pst|pdt)?",
    r".{1,150}\s[–—-]\s*live!?",  # a link to another live blog: "Transfer deadline day – live!"
    r"(?:latest|live) updates? (?:from|on|as)\b[^.!?]{0,120}",
    r"(?:and )?(?:e-?mail|tweet|message) \w+(?: \w+)? here\.?",
    r"(?:show )?key events(?: only)?|please turn on javascript to use this feature|live(?: updates| feed| blog)?"
    r"|refresh|(?:\d+ )?new updates?|(?:show|load) (?:more|\d+ new) (?:updates|posts|events)",
    # photo captions and credits standing alone
    r"(?:photo(?:graph)?s?|pictures?|image|foto|bild|credit|illustration)(?: credit)?\s*:\s*.{0,150}",
    r"\(?(?:photo|image|picture|foto)(?:graph)? (?:by|courtesy of|via)\b.{0,120}",
    r".{0,150}/(?:getty images|afp|reuters|ap|epa|shutterstock|alamy)\)?",
]
# Boilerplate lines are short; skipping the patterns for long prose lines halves the cost.
_MAX_BOILERPLATE_CHARS = 400
_BOILERPLATE_LINE = re.compile("|".join(f"(?:{p})" for p in _LINE_PATTERNS), re.IGNORECASE)

# Newsletter prompts: an imperative opening plus a word about mail or subscribing, so that
# "Subscribers will pay more" or "the ministry's newsletter said" stay.
_NEWSLETTER_START = re.compile(
    r"(?:subscribe|sign up|sign-up|signup|get (?:our|the latest|the best|breaking)|join our|join \d[\d,]*"
    r"|enter your e-?mail|don'?t miss|never miss|want (?:more|the latest)|like what you(?:'re reading| read)"
    r"|receive our|get regular updates|stay (?:informed|up to date|updated)|delivered (?:to|straight to) your inbox)\b",
    re.IGNORECASE,
)
_NEWSLETTER_WORD = re.compile(r"\b(?:newsletters?|inbox|subscribe|subscribers|e-?mail|updates)\b", re.I)

# Headers that introduce a list of links to other articles; the list follows them.
_RELATED_HEADER = re.compile(
    r"(?:related(?: stories| articles| posts| coverage| content| news| reading| links)?"
    r"|more (?:stories|news|coverage|on this)|more (?:from|in) [\w .]{1,40}|trending(?: now)?|most (?:read|popular)"
    r"|you (?:may|might) also like|related \w+"
    r"|in other news|articoli correlati|ähnliche artikel|mehr zum thema|leia (?:também|mais)|veja também"
    r"|articles? (?:liés|similaires)|te puede interesar)\s*:?",
    re.IGNORECASE,
)

# Top-of-article bylines and date lines.
_POSTED_LINE = re.compile(
    r"(?:posted|published|updated|last updated|written)(?: on| by| at)?\s*:?\s.{1,100}", re.IGNORECASE
)
_BYLINE_START = re.compile(r"(?:by|BY|By)\s+(?P<rest>.{1,100})")
# fmt: off
_BYLINE_CONNECTORS = frozenset({
    "&", "al", "and", "bin", "correspondent", "da", "de", "del", "der", "di", "du", "el", "la",
    "le", "of", "reporter", "reporters", "staff", "the", "van", "von",
})
# fmt: on
_MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
# "SEOUL, July 2 (Reuters) - ", "WASHINGTON (AP) — ", "BRUSSELS, Belgium — ": a place in capitals,
# optionally a region and a date, then an agency in brackets and/or a dash.
_DATELINE = re.compile(
    r"^[A-Z][A-Z.'’\- ]{1,40}[A-Z.]"
    r"(?:,\s*[A-Z][A-Za-z.]*(?:\s[A-Z][A-Za-z.]*){0,2})?"
    rf"(?:,\s*{_MONTHS}\s+\d{{1,2}}(?:,\s*\d{{4}})?)?"
    r"(?:\s*\([A-Za-z][A-Za-z .&/-]{0,30}\)\s*[-–—]+|\s*[–—]+|\s+--)\s+"
)


_SOCIAL_SEPARATORS = re.compile(r"[\s,|/•·:]+")
_SHARE_LEAD = re.compile(r"(?:share(?: this| on| via)?|follow us(?: on)?)\s*:?\s*", re.IGNORECASE)


def _is_social_list(line: str) -> bool:
    """A row of share buttons: "Facebook | X | Email", or "Share this: Facebook, Twitter"."""
    if len(line) > 150:
        return False
    rest = _SHARE_LEAD.sub("", line, count=1) if _SHARE_LEAD.match(line) else line
    words = [w for w in _SOCIAL_SEPARATORS.split(rest.lower()) if w]
    return bool(words) and len(words) <= 12 and all(w in _SOCIAL_WORDS for w in words)


def _is_newsletter(line: str) -> bool:
    return len(line) <= 240 and bool(_NEWSLETTER_START.match(line)) and bool(_NEWSLETTER_WORD.search(line))


# reddit appends its footer to the last line of a self post's text
_REDDIT_TRAILER = re.compile(
    r"\s*submitted by\s+/?u/\S+(?:\s+to\s+/?r/\S+)?(?:\s*\[link\])?(?:\s*\[comments?\])?\s*$", re.I
)


def _is_boilerplate_line(line: str) -> bool:
    if len(line) > _MAX_BOILERPLATE_CHARS:
        return False
    return bool(_BOILERPLATE_LINE.fullmatch(line)) or _is_social_list(line) or _is_newsletter(line)


_SENTENCE_END = re.compile(r"[.!;…]['\"’”)]?$")


def _is_link_title(line: str) -> bool:
    """A line that reads like a headline in a "related" list rather than a sentence."""
    return len(line) <= 160 and not _SENTENCE_END.search(line)


def _is_byline(line: str) -> bool:
    if _POSTED_LINE.fullmatch(line) and not line.endswith("."):
        return True
    match = _BYLINE_START.fullmatch(line)
    if not match or line.endswith("."):
        return False
    words = [w for w in re.split(r"[\s,|/•·–—-]+", match.group("rest")) if w]
    # "By Jane Doe, Reuters" is a byline; "By Friday the council had voted" is not.
    return (
        bool(words)
        and words[0][0].isupper()
        and all(w[0].isupper() or w[0].isdigit() or w.lower() in _BYLINE_CONNECTORS for w in words)
    )


def strip_boilerplate(text: str) -> str:
    """Drop boilerplate lines and paragraphs from plain text; paragraphs joined by "\\n\\n".

    Removes share and follow prompts, cross-links ("READ ALSO: ...", "RELATED STORIES" and the
    headline list after it), comment prompts, newsletter and cookie notices, copyright lines,
    WordPress's "The post X appeared first on Y." and, at the top only, bylines, "Posted on"
    lines and a wire dateline prefix ("SEOUL, July 2 (Reuters) - ").
    """
    return _drop_boilerplate(_paragraphs(text))


def _drop_boilerplate(paragraphs: list[list[str]]) -> str:
    """`strip_boilerplate` on text already split into paragraphs of collapsed, non-empty lines
    (what `_paragraphs` and `_html_paragraphs` give), so that it is not joined and split again."""
    out: list[str] = []
    in_related_list = False
    at_top = True  # until the first line of real prose
    for lines in paragraphs:
        kept: list[str] = []
        for line in lines:
            if "submitted by" in line:
                line = _REDDIT_TRAILER.sub("", line)
                if not line:
                    continue
            if in_related_list:
                if _is_link_title(line):
                    continue
                in_related_list = False
            if _RELATED_HEADER.fullmatch(line):
                in_related_list = True
                continue
            if _is_boilerplate_line(line):
                continue
            if at_top:
                if _is_byline(line):
                    continue
                line = _DATELINE.sub("", line, count=1)
                at_top = False
            kept.append(line)
        if kept:
            out.append("\n".join(kept))
    return "\n\n".join(out)


_BLANK_LINE = re.compile(r"\n\s*\n")


def _paragraphs(text: str) -> list[list[str]]:
    """Blank-line separated paragraphs of collapsed lines, empty lines and paragraphs left out."""
    paragraphs = []
    for paragraph in _BLANK_LINE.split(text):
        lines = [line for line in map(_collapse, paragraph.split("\n")) if line]
        if lines:
            paragraphs.append(lines)
    return paragraphs


def _plain_paragraphs(text: str) -> list[list[str]]:
    return _paragraphs(text.replace("\r\n", "\n").replace("\r", "\n"))


def clean_content(raw: str) -> str:
    """Feed content (HTML or plain text) -> plain text paragraphs without boilerplate.

    HTML is recognised by a tag, a character reference or a CDATA marker; plain text keeps its
    blank-line paragraph breaks and line breaks, with spaces collapsed inside each line.
    """
    if not raw or not raw.strip():
        return ""
    return _drop_boilerplate(_html_paragraphs(raw) if looks_like_html(raw) else _plain_paragraphs(raw))


def markup_to_line(value: str) -> str:
    """A title-like string that may hold markup or entities -> one line of plain text."""
    if not _TAG.search(value) and _ENTITY.search(value):
        value = unescape(value)
    # Checked again after unescaping: double-escaped markup ("&amp;lt;b&amp;gt;") is common.
    if _TAG.search(value):
        value = html_to_text(value)
    return _collapse(value)


def extract_article(html: str, url: str | None = None) -> str:
    """A whole article page (full-text mode) -> plain text paragraphs of its main content.

    trafilatura finds the main content block (on its own evaluation pages it drops far more page
    chrome than any line rule can); our boilerplate rules then run on its output. Without
    trafilatura, or when it finds nothing, the page goes through `clean_content`.
    """
    if not html or not html.strip():
        return ""
    try:
        trafilatura = _trafilatura()
    except ImportError:
        return clean_content(html)
    try:
        text = trafilatura.extract(html, url=url, include_comments=False, include_tables=False, favor_precision=True)
    except Exception:  # a parser crash on one hostile page must not stop a poll
        text = None
    return _drop_boilerplate(_plain_paragraphs(text)) if text else clean_content(html)


def _trafilatura() -> Any:
    import trafilatura  # optional: the `fulltext` extra

    return trafilatura


def full_text_problem() -> str | None:
    """Why full-text mode cannot extract articles here (trafilatura not importable), or None."""
    try:
        _trafilatura()
    except ImportError as exc:  # not installed, or one of its own imports failed (lxml_html_clean)
        return (
            f"full-text mode needs trafilatura, which could not be imported ({exc}); "
            "install the fulltext extra (pip install -e '.[fulltext]' in newsbot's folder)"
        )
    return None
