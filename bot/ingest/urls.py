"""Canonical and absolute article URLs, so one article has one key whatever link it came by.

Pure functions over `urllib.parse`; no I/O and no ports. Used by the parser for item links and
GUID fallbacks, and by dedupe to compare links across feeds.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

__all__ = [
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "absolute_http_url",
    "canonical_url",
    "feed_key",
    "is_tracking_param",
]

# Query parameters that only say how a reader arrived (campaigns, ad clicks, mail merges);
# they never change the page. Generic names such as "ref", "source" or "id" are deliberately
# absent: sites use them for content (GitHub's ?ref=branch, search pages).
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "igsh",
        "srsltid",
        "epik",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsctatracking",
        "mkt_tok",
        "vero_id",
        "vero_conv",
        "oly_anon_id",
        "oly_enc_id",
        "rb_clickid",
        "s_cid",
        "sc_cid",
        "wickedid",
        "_openstat",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
        "cmpid",
        "ncid",
        "ocid",
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
        "ito",
        "spm",
        "share_id",
        "rss_source",
        "xtor",
    }
)
# Families of tracking parameters: Google Analytics (utm_), Matomo/Piwik (mtm_, pk_),
# HubSpot ads (hsa_), in-site campaign tags (itm_), Taboola (tbl_).
TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "hsa_", "itm_", "tbl_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"(?:[a-z0-9\-_]+\.)*[a-z0-9\-_]+\.?|\[[0-9a-f:.]+\]", re.IGNORECASE)
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_tracking_param(name: str) -> bool:
    """True for a query parameter name (raw or encoded) that only carries tracking data."""
    key = unquote_plus(name).strip().lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _clean_query(query: str) -> str:
    # Split by hand rather than parse_qsl + urlencode so that kept parameters keep their
    # exact encoding and order: re-encoding would turn "a%20b" into "a+b" and change the key.
    kept = [part for part in query.split("&") if part and not is_tracking_param(part.split("=", 1)[0])]
    return "&".join(kept)


def canonical_url(url: str, base: str | None = None) -> str:
    """The canonical form of `url` (resolved against `base` when relative).

    Lower-cases scheme and host, drops the default port, a trailing dot on the host, the
    fragment (except "#!" routes, which name content on old single-page sites) and tracking
    parameters (see `TRACKING_PARAMS`, `TRACKING_PREFIXES`); other parameters keep their
    order and encoding; an empty path becomes "/". Strings that are not URLs come back trimmed.
    """
    url = url.strip()
    if base:
        url = urljoin(base.strip(), url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # "http://[oops" or a non-numeric port: nothing safe to normalise
        return url
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    if parts.hostname is not None:
        host = parts.hostname.rstrip(".")
        if ":" in host:  # IPv6 literal; urlsplit strips the brackets
            host = f"[{host}]"
        userinfo = netloc.rpartition("@")[0] if "@" in netloc else ""
        netloc = (f"{userinfo}@" if userinfo else "") + host
        if port is not None and port != _DEFAULT_PORTS.get(scheme):
            netloc += f":{port}"
    path = parts.path
    if not path and netloc and scheme in _DEFAULT_PORTS:
        path = "/"
    fragment = parts.fragment if parts.fragment.startswith("!") else ""
    return urlunsplit((scheme, netloc, path, _clean_query(parts.query), fragment))


def feed_key(url: str) -> str:
    """The key two addresses of one feed share: its canonical URL without a trailing slash.

    `https://Example.com/feed/?utm_source=x` and `https://example.com/feed` are one feed; so
    `feeds add`, `subscribe` and the config find the feed already stored instead of adding a twin
    that would carry no articles of its own. A mirror on another host or path is not the same key:
    it stays its own feed, and shares the articles it carries with the original (bot.store.articles).
    """
    key = canonical_url(url)
    parts = urlsplit(key)
    if len(parts.path) > 1 and parts.path.endswith("/"):
        key = urlunsplit(parts._replace(path=parts.path.rstrip("/") or "/"))
    return key


def absolute_http_url(url: str | None, base: str | None) -> str | None:
    """`url` as an absolute http(s) URL, resolved against `base` if relative; else None.

    None for empty input, other schemes (javascript:, mailto:, data:, tel:, ...), relative links
    without an absolute http(s) base, and strings that do not parse to a host. The result is
    not canonicalised; inner spaces are percent-encoded as browsers do.
    """
    if not url:
        return None
    url = url.strip()
    if not url or _CONTROL.search(url):
        return None
    url = url.replace(" ", "%20")
    scheme = _SCHEME.match(url)
    if scheme is not None:
        if scheme.group(1).lower() not in _DEFAULT_PORTS:
            return None  # javascript:, mailto:, data:, ...; never resolve these against the base
    else:
        base_abs = absolute_http_url(base, None) if base else None
        if base_abs is None:
            return None
        url = urljoin(base_abs, url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if not _HOST.fullmatch(parts.hostname) and not _looks_like_idn(parts.hostname):
        return None
    return url


def _looks_like_idn(host: str) -> bool:
    # Internationalised host names arrive unencoded in feeds: letters of any script, digits,
    # dots and hyphens, and encodable by IDNA.
    if not all(ch.isalnum() or ch in "-._" for ch in host):
        return False
    try:
        host.encode("idna")
    except UnicodeError:
        return False
    return True
