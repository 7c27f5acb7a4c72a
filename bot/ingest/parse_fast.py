"""Fast path of the parse step: well-formed RSS 0.9x/1.0/2.0 and Atom 1.0 read with lxml.

`read_feed` returns the raw fields feedparser would have produced for the entries newsbot uses
(`RawFeed`), or None for anything it does not fully handle; `parse.py` then falls back to
feedparser. Field rules follow feedparser 6's so that both paths yield the same `ParsedFeed`.
"""

from __future__ import annotations

import calendar
import contextlib
import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from urllib.parse import urljoin

from lxml import etree  # type: ignore[import-untyped]  # no stubs in the venv

try:  # feedparser's date reader is not public API: without it, odd dates fall back whole
    from feedparser.datetimes import _parse_date as _feedparser_date
except ImportError:  # pragma: no cover
    _feedparser_date = None

__all__ = ["RawEntry", "RawFeed", "parse_date", "read_feed"]

_ATOM = "http://www.w3.org/2005/Atom"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RSS1 = "http://purl.org/rss/1.0/"
_RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_RSS_VERSIONS = frozenset({"2.0", "0.91", "0.92", "0.93", "0.94"})
# Namespaces whose elements feedparser files under a fixed prefix ("" = core element names).
# fmt: off
_PREFIXES = {
    "": "", _ATOM: "", _RSS1: "", _RSS090: "", "http://backend.userland.com/rss": "",
    "http://blogs.law.harvard.edu/tech/rss": "",
    "http://purl.org/rss/1.0/modules/content/": "content_", "http://purl.org/dc/elements/1.1/": "dc_",
    "http://purl.org/dc/terms/": "dcterms_", "http://www.itunes.com/dtds/podcast-1.0.dtd": "itunes_",
    "http://search.yahoo.com/mrss": "media_", "http://search.yahoo.com/mrss/": "media_",
    "http://www.w3.org/1999/xhtml": "xhtml_", _RDF: "rdf_",
}
# fmt: on
_PREFIXES = {ns.lower(): prefix for ns, prefix in _PREFIXES.items()}  # feedparser matches them case-blind
_TITLE = frozenset({"title", "dc_title", "media_title"})
_SUMMARY = frozenset({"description", "summary", "dc_description", "itunes_summary", "media_description"})
_CONTENT = frozenset({"content", "content_encoded"})
_PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms_issued"})
_UPDATED = frozenset({"updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"})
_CREATED = frozenset({"created", "dcterms_created"})
_AUTHOR = frozenset({"author", "managingeditor", "dc_author", "dc_creator", "itunes_author"})
_ID = frozenset({"guid", "id"})
# Elements feedparser reads into our fields in ways this module does not reproduce.
_UNSUPPORTED = frozenset({"abstract", "body", "xhtml_body", "fullitem", "name", "email", "uri", "url"})
_MAPPED = _TITLE | _SUMMARY | _CONTENT | _PUBLISHED | _UPDATED | _CREATED | _AUTHOR | _ID | {"link"} | _UNSUPPORTED
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_CONTENT_TYPES = {"text": "text/plain", "html": "text/html", "xhtml": "application/xhtml+xml"}
_XML_DECL = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_CHARSET = re.compile(r";\s*charset\s*=\s*[\"']?([^\s;\"']+)", re.I)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.I)
_ENTITY_DECL = re.compile(rb"<!ENTITY|<!DOCTYPE[^>\[]*\[", re.I)
_ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "iso-8859-1": "iso-8859-1",
    "latin-1": "iso-8859-1",
    "latin1": "iso-8859-1",
    "windows-1252": "windows-1252",
    "cp1252": "windows-1252",
    "us-ascii": "us-ascii",
    "ascii": "us-ascii",
}
_XML_DECL_TEXT = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")
# Whether feedparser's encoding guesser has a charset detector to ask (it imports either).
_CHARDET = any(importlib.util.find_spec(name) is not None for name in ("cchardet", "chardet"))
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_URI_FIX = re.compile(r"^([A-Za-z][A-Za-z0-9+\-.]*://)(/*)")
_LINK_REF = re.compile(r"&([A-Za-z0-9_]+);")
# feedparser maps C1 controls to the characters windows-1252 gives those bytes.
_CP1252 = {i: bytes([i]).decode("cp1252") for i in range(0x80, 0xA0) if i not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}
_C1 = re.compile("[\x80-\x9f]")
_ABSOLUTE_BASE = re.compile(r"https?://[^/\s]", re.I)

_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_DAYS = frozenset({"mon", "tue", "wed", "thu", "fri", "sat", "sun"})
# Zone names feedparser's RFC 822 reader knows (hours east of UTC); "utc" it reads as 0 too.
# fmt: off
_ZONES = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0, "adt": -3, "ast": -4, "at": -4, "edt": -4, "est": -5, "et": -5,
    "cdt": -5, "cst": -6, "ct": -6, "mdt": -6, "mst": -7, "mt": -7, "pdt": -7, "pst": -8, "pt": -8,
}
# fmt: on
_RFC822 = re.compile(
    r"(?:(?P<dow>[A-Za-z]{3,9}),?\s+)?(?P<day>\d{1,2})\s+(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<year>\d{4})"
    r"\s+(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\s+(?P<tz>[A-Za-z]{1,4}|[+-]\d{2}:?\d{2})"
)
_ISO8601 = re.compile(
    r"(?P<year>\d{4})-(?P<mon>\d{2})-(?P<day>\d{2})"
    r"(?:[Tt ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?\s*(?P<tz>[Zz]|[+-]\d{2}:\d{2})?)?"
)


class _Unsupported(Exception):
    """Something this reader does not reproduce exactly: the caller falls back to feedparser."""


@dataclass(slots=True)
class RawEntry:
    """An entry's fields as feedparser would give them (strings stripped, not yet cleaned)."""

    id: str = ""
    link: str = ""
    base: str | None = None  # the xml:base in scope at the title (else summary) element
    title: str = ""
    content: str = ""  # the first non-blank content, else the summary
    published: datetime | None = None
    author: str = ""
    author_name: str = ""


@dataclass(slots=True)
class RawFeed:
    title: str = ""
    link: str = ""
    ttl: str = ""
    entries: list[RawEntry] = field(default_factory=list)


def read_feed(data: bytes, headers: Mapping[str, str]) -> RawFeed | None:
    """The feed's raw fields, or None when the document needs feedparser (see module doc)."""
    encoding = _encoding(data, headers)
    if encoding is None:
        return None
    if data[:1].isspace():
        # Blank lines before "<?xml" (a common server-side template slip) make the document
        # ill-formed for feedparser too, which then reads it with its loose parser; the
        # cross-check against that path found the same results.
        data = data.lstrip()
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, remove_pis=True
    )
    try:
        try:
            root = etree.fromstring(data, parser)
        except etree.XMLSyntaxError:
            recoded = _as_windows_1252(data, encoding, headers)
            if recoded is None:
                return None
            root = etree.fromstring(recoded, parser)
        # Without a DTD an undefined entity is an error; with one lxml keeps it as a node
        if _DOCTYPE.search(data[:2048]) and next(root.iter(etree.Entity), None) is not None:
            return None
        bases: dict[etree._Element, str] | None = {}
        if b"xml:base" in data or b" base=" in data:
            bases = _feedparser_bases(root)
        return _read(root, _Bases(bases)) if bases is not None else None
    except (etree.XMLSyntaxError, _Unsupported, ValueError):
        return None


def _encoding(data: bytes, headers: Mapping[str, str]) -> str | None:
    """The encoding feedparser will decode `data` with, when lxml reads it the same way; else None.

    UTF-8 (declared or not), and ISO-8859-1 / windows-1252 / US-ASCII when declared. feedparser's
    RFC 3023 header rules are followed where they are simple: a charset parameter must agree
    with the document, a text/* type without one only changes the result when a charset
    detector is installed, and headers without a Content-Type mean ISO-8859-1.
    """
    head = data[:2048]
    if _ENTITY_DECL.search(head) or "content-location" in headers:
        return None
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return None
    declared = _XML_DECL.match(head)
    encoding = _ENCODINGS.get(declared.group(1).decode("ascii").lower() if declared else "utf-8")
    if encoding is None:
        return None
    if encoding == "us-ascii" and not data.isascii():
        return None
    if encoding == "windows-1252" and _CP1252_UNDEFINED.search(data):
        return None
    content_type = headers.get("content-type")
    if content_type is None:
        return encoding if not headers or declared is not None or data.isascii() else None
    charset = _CHARSET.search(content_type)
    if charset:
        return encoding if _ENCODINGS.get(charset.group(1).lower()) == encoding else None
    if content_type.lower().lstrip().startswith("text/") and not data.isascii() and _CHARDET:
        return None
    return encoding


def _as_windows_1252(data: bytes, encoding: str, headers: Mapping[str, str]) -> bytes | None:
    # A "UTF-8" document with stray bytes: feedparser tries the declared encoding, UTF-8 and
    # then windows-1252 (a charset detector, when installed, comes first), and parses the
    # result strictly. Only that case is reproduced; broken XML stays with feedparser.
    if encoding != "utf-8" or _CHARDET or _CHARSET.search(headers.get("content-type", "")):
        return None
    try:
        data.decode("utf-8")
        return None  # valid UTF-8, so the error was in the XML itself
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("windows-1252")
    except UnicodeDecodeError:
        return None
    return _XML_DECL_TEXT.sub("", text, count=1).encode("utf-8")


def _key(el: etree._Element) -> str | None:
    tag = el.tag
    if not isinstance(tag, str):
        return None  # an entity reference or other non-element node
    if tag[0] != "{":
        return tag.lower()
    ns, _, local = tag[1:].partition("}")
    prefix = _PREFIXES.get(ns.lower())
    if prefix is not None:
        return prefix + local.lower()
    key = f"{el.prefix}_{local}".lower() if el.prefix else local.lower()
    if key in _MAPPED:  # feedparser would take an unknown namespace's prefix at face value
        raise _Unsupported(key)
    return key


def _fix(text: str) -> str:
    # feedparser repairs UTF-8 read as Latin-1 and maps C1 controls to windows-1252 characters.
    if text.isascii():
        return text
    # (it re-encodes every document to UTF-8 first, so this applies whatever the encoding)
    with contextlib.suppress(UnicodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_CP1252) if _C1.search(text) else text


def _text(el: etree._Element) -> str:
    if len(el):
        raise _Unsupported("markup inside a text element")
    return _fix((el.text or "").strip())


def _content_type(el: etree._Element, default: str) -> str:
    if el.get("mode") is not None or el.get("src") is not None:
        raise _Unsupported("escaped, base64 or out-of-line content")
    raw = el.get("type")
    if raw is None:
        return default
    kind = _CONTENT_TYPES.get(str(raw).lower(), str(raw).lower())
    if kind not in ("text/plain", "text/html", "application/xhtml+xml"):
        raise _Unsupported(kind)
    return kind


def _value(el: etree._Element, atom: bool, default: str) -> str:
    """The text of a title, summary or content element; inline XHTML serialised as markup."""
    if atom and _content_type(el, default) == "application/xhtml+xml":
        return _fix(_xhtml(el).strip())
    return _text(el)


def _xhtml(el: etree._Element) -> str:
    children = list(el)
    # Atom wraps XHTML in one <div>, which feedparser drops when nothing else is beside it.
    if len(children) == 1 and not (el.text or "").strip() and not (children[0].tail or "").strip():
        only = children[0]
        if isinstance(only.tag, str) and etree.QName(only).localname.lower() == "div":
            return _inner(only)
    return _inner(el)


def _inner(el: etree._Element) -> str:
    parts = [escape(el.text or "", quote=False)]
    for child in el:
        if not isinstance(child.tag, str):
            raise _Unsupported("entity reference or processing instruction in XHTML")
        name = etree.QName(child).localname.lower()
        attrs = "".join(f' {etree.QName(k).localname.lower()}="{escape(v)}"' for k, v in child.attrib.items())
        body = _inner(child)
        parts.append(f"<{name}{attrs}>{body}</{name}>" if body else f"<{name}{attrs} />")
        parts.append(escape(child.tail or "", quote=False))
    return "".join(parts)


def _urljoin(base: str | None, uri: str) -> str:
    # feedparser's resolve_uri: extra slashes after "scheme://" dropped, then joined to the base
    uri = _URI_FIX.sub(r"\1", uri)
    try:
        return urljoin(base or "", uri)
    except ValueError:
        return ""


def _feedparser_bases(root: etree._Element) -> dict[etree._Element, str] | None:
    """The base URI feedparser has in force at each element, or None when it cannot be matched.

    Only absolute http(s) xml:base values are accepted. feedparser pushes the base in force at
    every start tag and, at an end tag, goes back to the enclosing one only when that is not
    empty: a base set on an entry's <content> stays in force after it (the XML scope rules
    would drop it), and that is reproduced here. A plain `base` attribute, which it also
    honours, is left to it.
    """
    current = ""
    stack: list[str] = []
    bases: dict[etree._Element, str] = {}
    for event, el in etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            if el.get("base") is not None:
                return None
            value = el.get(_XML_BASE)
            if value is not None:
                if value != value.strip() or not _ABSOLUTE_BASE.match(value):
                    return None
                current = value
            stack.append(current)
            bases[el] = current
        else:
            stack.pop()
            if stack and stack[-1]:
                current = stack[-1]
    return bases


class _Bases:
    """feedparser's base at an element ("" when none)."""

    def __init__(self, bases: dict[etree._Element, str]) -> None:
        self.bases = bases

    def at(self, el: etree._Element | None) -> str:
        return str(self.bases.get(el, "")) if self.bases and el is not None else ""


class _Links:
    """feedparser's link rules: link elements overwrite, a permalink GUID only fills a gap."""

    def __init__(self, bases: _Bases) -> None:
        self.value = ""
        self.is_set = False
        self.bases = bases

    def element(self, el: etree._Element, entry: bool) -> None:
        if "url" in el.attrib or "uri" in el.attrib:
            raise _Unsupported("link url/uri attribute")
        href = el.get("href")
        if href is None:
            text = _text(el)
            value = _urljoin(self.bases.at(el), text) if text else ""
            if entry:
                value = value.replace("&amp;", "&")
            self.value = _LINK_REF.sub(r"&\1", value)
            self.is_set = True
            return
        rel = (el.get("rel") or "alternate").lower()
        kind = (el.get("type") or ("application/atom+xml" if rel == "self" else "text/html")).lower()
        if rel == "alternate" and _CONTENT_TYPES.get(kind, kind) in _HTML_TYPES:
            self.value = _urljoin(self.bases.at(el), href.strip())
            self.is_set = True

    def guid(self, value: str) -> None:
        if not self.is_set:
            self.value = value
            self.is_set = True


def _id(el: etree._Element, bases: _Bases) -> tuple[str, bool]:
    permalink = el.get("isPermaLink", el.get("ispermalink", "true"))
    if permalink not in ("true", "false"):
        raise _Unsupported("isPermaLink value")
    value = _text(el)
    is_link = permalink == "true"
    if is_link and value:
        value = _urljoin(bases.at(el), value)
    return value, is_link


def _read(root: etree._Element, bases: _Bases) -> RawFeed | None:
    tag = root.tag
    if tag == "rss":
        if root.get("version") not in _RSS_VERSIONS or root.find("item") is not None:
            return None
        channels = root.findall("channel")
        if len(channels) != 1:
            return None
        channel, atom, items = channels[0], False, channels[0].findall("item")
    elif tag == f"{{{_RDF}}}RDF":
        for ns in (_RSS1, _RSS090):
            channel = root.find(f"{{{ns}}}channel")
            if channel is not None:
                break
        else:
            return None
        atom, items = False, root.findall(f"{{{ns}}}item")
    elif tag == f"{{{_ATOM}}}feed":
        channel, atom, items = root, True, root.findall(f"{{{_ATOM}}}entry")
    else:
        return None
    feed = _channel(channel, atom, bases)
    feed.entries = [_entry(item, atom, bases) for item in items]
    return feed


def _channel(channel: etree._Element, atom: bool, bases: _Bases) -> RawFeed:
    feed = RawFeed()
    links = _Links(bases)
    title_done = False
    for child in channel:
        key = _key(child)
        if key in _TITLE:
            if not title_done:
                feed.title = _value(child, atom, "text/plain")
                title_done = bool(feed.title)
        elif key == "link":
            links.element(child, entry=False)
        elif key in _ID:
            value, is_link = _id(child, bases)
            if is_link:
                links.guid(value)
        elif key == "ttl":
            feed.ttl = _text(child)
    feed.link = links.value
    return feed


def _entry(item: etree._Element, atom: bool, bases: _Bases) -> RawEntry:
    entry = RawEntry(id=item.get(f"{{{_RDF}}}about", ""))
    links = _Links(bases)
    has_title = False  # a non-empty title outside Media RSS, which no later title replaces
    title_el: etree._Element | None = None  # the elements whose base feedparser records
    summary_el: etree._Element | None = None
    summary: str | None = None
    contents: list[str] = []
    has_content = False
    dates: dict[str, str] = {}
    authors: list[etree._Element] = []

    def title(el: etree._Element, media: bool) -> None:
        nonlocal has_title, title_el
        # the first non-empty title wins; media:title (feedparser keeps its title depth) only
        # stands in until a plain one arrives
        if not has_title:
            entry.title = _value(el, atom and not media, "text/plain")
            has_title = bool(entry.title) and not media
            title_el = el

    def description(el: etree._Element, nested: bool) -> None:
        nonlocal summary, has_content, summary_el
        value = _value(el, atom and not nested, "text/plain" if atom else "text/html")
        if summary is not None and not has_content:
            # feedparser files a second summary-like element as content
            has_content = True
            contents.append(value)
        elif nested and summary is not None:
            raise _Unsupported("nested description after content")  # depends on element depths
        else:
            summary = value
            summary_el = el

    for child in item:
        key = _key(child)
        if key is None or key == "source":
            continue  # an RSS <source> names the origin; an Atom <source> holds its metadata
        if key in _TITLE:
            title(child, key == "media_title")
        elif key in _SUMMARY:
            description(child, nested=False)
        elif key in _CONTENT:
            has_content = True
            value = _value(child, atom and key == "content", "text/plain" if key == "content" else "text/html")
            contents.append(value)
            if summary is None:
                summary = value
        elif key == "link":
            links.element(child, entry=True)
        elif key in _ID:
            entry.id, is_link = _id(child, bases)
            if is_link:
                links.guid(entry.id)
        elif key in _PUBLISHED:
            dates["published"] = _text(child)
        elif key in _UPDATED:
            dates["updated"] = _text(child)
        elif key in _CREATED:
            dates["created"] = _text(child)
        elif key in _AUTHOR:
            authors.append(child)
        elif key in _UNSUPPORTED:
            raise _Unsupported(key)
        elif len(child) and key != "contributor":
            # feedparser reads nested elements too: media:group and media:content carry
            # media:title and media:description, which it files as title and summary
            for inner in child.iterdescendants():
                inner_key = _key(inner)
                if inner_key == "media_title" and key in ("media_group", "media_content"):
                    title(inner, media=True)
                elif inner_key == "media_description" and key in ("media_group", "media_content"):
                    description(inner, nested=True)
                elif inner_key in _MAPPED:
                    raise _Unsupported(f"{key} holds {inner.tag}")
    if authors:
        _authors(entry, authors)
    entry.link = links.value
    entry.content = next((c for c in contents if c.strip()), summary or "")
    entry.base = bases.at(title_el) or bases.at(summary_el) or None
    for kind in ("published", "updated", "created"):
        raw = dates.get(kind)
        entry.published = _date(raw) if raw else None
        if entry.published is not None:
            break
    return entry


def _date(raw: str) -> datetime | None:
    value = parse_date(raw)
    if value is not None:
        return value
    # The odd formats (Korean, Greek, Hungarian, asctime, ...) go to feedparser's own reader,
    # so both paths agree on them too.
    if _feedparser_date is None:
        raise _Unsupported(f"date {raw!r}")
    parsed = _feedparser_date(raw)
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC) if parsed else None
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def _authors(entry: RawEntry, elements: list[etree._Element]) -> None:
    # Several plain-text authors (author and dc:creator): feedparser keeps the last one.
    if len(elements) > 1 and any(len(el) for el in elements):
        raise _Unsupported("several Atom authors")
    _author(entry, elements[-1])
    if not entry.author and any((el.text or "").strip() for el in elements[:-1]):
        raise _Unsupported("empty last author")


def _author(entry: RawEntry, el: etree._Element) -> None:
    if not len(el):
        entry.author = _text(el)
        return
    # Atom person: feedparser gives "name (email)", the name or the e-mail address
    name = email = ""
    for part in el:
        key = _key(part)
        if key == "name":
            name = (part.text or "").strip() if not len(part) else _fail("markup in name")
        elif key == "email":
            email = (part.text or "").strip() if not len(part) else _fail("markup in email")
        elif key in _MAPPED - {"uri"}:
            raise _Unsupported(f"author holds {key}")
    entry.author_name = name
    entry.author = f"{name} ({email})" if name and email else name or email


def _fail(why: str) -> str:
    raise _Unsupported(why)


def parse_date(value: str) -> datetime | None:
    """An aware UTC datetime for the RFC 822 and W3C-DTF/ISO 8601 forms feeds use; else None.

    Seconds are truncated and a missing zone means UTC, as feedparser does; strings that only
    feedparser's wider set of readers might understand give None.
    """
    value = value.strip()
    m = _ISO8601.fullmatch(value)
    if m:
        tz = m["tz"] or "z"
        offset = 0 if tz in "Zz" else (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 60 + int(tz[4:6]))
        return _stamp(int(m["year"]), int(m["mon"]), int(m["day"]), m["h"], m["m"], m["s"], offset)
    m = _RFC822.fullmatch(value)
    if m is None:
        return None
    if m["dow"] and m["dow"][:3].lower() not in _DAYS:
        return None
    month = _MONTHS.get(m["mon"][:3].lower())
    tz = m["tz"].lower()
    if month is None:
        return None
    if tz[0] in "+-":
        digits = tz[1:].replace(":", "")
        offset = (1 if tz[0] == "+" else -1) * (int(digits[:2]) * 60 + int(digits[2:]))
    elif tz in _ZONES:
        offset = _ZONES[tz] * 60
    else:
        return None
    return _stamp(int(m["year"]), month, int(m["day"]), m["h"], m["m"], m["s"], offset)


def _stamp(
    year: int, month: int, day: int, hour: str | None, minute: str | None, second: str | None, offset: int
) -> datetime | None:
    try:
        local = datetime(year, month, day, int(hour or 0), int(minute or 0), int(second or 0), tzinfo=UTC)
        return local - timedelta(minutes=offset)
    except (ValueError, OverflowError):
        return None
