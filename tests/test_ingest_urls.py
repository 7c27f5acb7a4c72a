"""Canonical and absolute URLs (bot.ingest.urls)."""

from __future__ import annotations

import pytest

from bot.ingest.urls import absolute_http_url, canonical_url, is_tracking_param


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # tracking parameters go, others stay in order and keep their encoding
        (
            "https://harborledger.example/world/nato/?utm_source=rss&utm_medium=feed&utm_campaign=world",
            "https://harborledger.example/world/nato/",
        ),
        (
            "https://a.example/p?id=3&fbclid=IwAR3&q=a%20b&gclid=x&page=2&UTM_Content=y",
            "https://a.example/p?id=3&q=a%20b&page=2",
        ),
        (
            "https://a.example/p?mc_cid=1&mc_eid=2&_hsenc=3&_hsmi=4&igshid=5&yclid=6&msclkid=7&dclid=8&ref_src=twsrc",
            "https://a.example/p",
        ),
        ("https://a.example/p?b=2&a=1&&c=", "https://a.example/p?b=2&a=1&c="),
        ("https://github.example/o/r?ref=main", "https://github.example/o/r?ref=main"),  # "ref" is content
        # case, default ports, fragments, empty path
        ("HTTPS://PacificWire.EXAMPLE/Local/Story", "https://pacificwire.example/Local/Story"),
        ("https://a.example:443/x", "https://a.example/x"),
        ("http://a.example:80/x", "http://a.example/x"),
        ("http://a.example:8080/x", "http://a.example:8080/x"),
        ("https://a.example:80/x", "https://a.example:80/x"),
        ("https://a.example/x#comments", "https://a.example/x"),
        ("https://a.example/#!/story/12", "https://a.example/#!/story/12"),
        ("https://a.example", "https://a.example/"),
        ("https://a.example?utm_source=x", "https://a.example/"),
        ("https://a.example./x", "https://a.example/x"),
        ("  https://a.example/x \n", "https://a.example/x"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        ("https://user:pw@A.example/x", "https://user:pw@a.example/x"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("../photos/1?utm_medium=x", "https://c.example/news/2026/", "https://c.example/news/photos/1"),
        ("/local/story", "https://A.example/feed/", "https://a.example/local/story"),
        ("story-1", "https://c.example/news/2026/", "https://c.example/news/2026/story-1"),
        ("https://b.example/x", "https://a.example/", "https://b.example/x"),
    ],
)
def test_canonical_url_resolves_relative_links(url: str, base: str, expected: str) -> None:
    assert canonical_url(url, base) == expected


def test_canonical_url_is_idempotent_and_survives_garbage() -> None:
    url = "HTTP://A.example:80/p?x=1&utm_source=y#f"
    assert canonical_url(canonical_url(url)) == canonical_url(url) == "http://a.example/p?x=1"
    assert canonical_url("http://[broken") == "http://[broken"


def test_tracking_param_names() -> None:
    assert is_tracking_param("utm_source")
    assert is_tracking_param("UTM_CAMPAIGN")
    assert is_tracking_param("fbclid")
    assert is_tracking_param("pk_kwd")
    assert not is_tracking_param("id")
    assert not is_tracking_param("page")
    assert not is_tracking_param("utm")  # not a utm_ parameter


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://a.example/x", None, "https://a.example/x"),
        ("/x", "https://a.example/feed", "https://a.example/x"),
        ("//cdn.example/x", "https://a.example/", "https://cdn.example/x"),
        ("/a b", "https://a.example/", "https://a.example/a%20b"),
        ("https://bücher.example/x", None, "https://bücher.example/x"),
        ("  https://a.example/x  ", None, "https://a.example/x"),
    ],
)
def test_absolute_http_url_accepts(url: str, base: str | None, expected: str) -> None:
    assert absolute_http_url(url, base) == expected


@pytest.mark.parametrize(
    ("url", "base"),
    [
        (None, "https://a.example/"),
        ("", "https://a.example/"),
        ("   ", "https://a.example/"),
        ("javascript:alert(1)", "https://a.example/"),
        ("JavaScript:void(0)", "https://a.example/"),
        ("mailto:desk@a.example", "https://a.example/"),
        ("data:text/html,<b>x</b>", "https://a.example/"),
        ("tel:+15550100", "https://a.example/"),
        ("ftp://a.example/file", None),
        ("/relative/without/base", None),
        ("relative", "mailto:x@a.example"),
        ("http://", None),
        ("http:///path-only", None),
        ("http://[broken", None),
        ("http://a.example:port/", None),
        ("http://a b.example/", None),
        ("https://a.example/\x00x", None),
    ],
)
def test_absolute_http_url_rejects(url: str | None, base: str | None) -> None:
    assert absolute_http_url(url, base) is None
