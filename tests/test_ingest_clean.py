"""HTML -> text and boilerplate removal (bot.ingest.clean)."""

from __future__ import annotations

import random

import pytest

from bot.ingest.clean import clean_content, html_to_text, looks_like_html, markup_to_line, strip_boilerplate

# --- html_to_text ---------------------------------------------------------------------------


def test_blocks_become_paragraphs_and_br_a_newline() -> None:
    html = "<div><p>First  para\n graph.</p><p>Second<br>line two<br/>line three</p></div><h2>Head</h2>tail"
    assert html_to_text(html) == "First para graph.\n\nSecond\nline two\nline three\n\nHead\n\ntail"


def test_entities_are_decoded_and_inline_tags_join_words() -> None:
    html = "<p>Caf&eacute; &amp; bar &#8212; &#x201C;open&#x201D;&nbsp;now: <b>bold</b><i>italic</i></p>"
    assert html_to_text(html) == "Café & bar — “open” now: bolditalic"


@pytest.mark.parametrize(
    "html",
    [
        "<p>Keep.</p><script>var x = '<p>no</p>';</script>",
        "<p>Keep.</p><style>p { color: red }</style>",
        "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav><p>Keep.</p>",
        "<p>Keep.</p><aside><p>Most read: something else</p></aside>",
        "<figure><img src='x.jpg' alt='x'><figcaption>A caption, dropped.</figcaption></figure><p>Keep.</p>",
        "<p>Keep.</p><iframe src='https://video.example/embed'>fallback text</iframe>",
    ],
)
def test_non_prose_elements_are_dropped(html: str) -> None:
    assert html_to_text(html) == "Keep."


def test_unclosed_skip_tag_only_swallows_until_its_parent_closes() -> None:
    # a stray <nav> inside an <aside> must not swallow the rest once the aside has closed
    assert html_to_text("<aside><nav>menu</aside><p>After.</p>") == "After."


def test_table_cells_are_separated() -> None:
    assert html_to_text("<table><tr><td>Oslo</td><td>12</td></tr><tr><td>Rome</td><td>25</td></tr></table>") == (
        "Oslo 12\n\nRome 25"
    )


def test_invisible_characters_and_empty_blocks_vanish() -> None:
    assert html_to_text("<p>\u200bzero\u00adwidth</p><p> </p><div><p></p></div><p>end</p>") == "zerowidth\n\nend"


def _stdlib_paragraphs(html: str) -> list[list[str]]:
    from bot.ingest.clean import _TextExtractor

    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.paragraphs


# Inputs on both sides of the fast tokenizer's edge: each must read as html.parser reads it.
_TOKENIZER_CASES = [
    "<p class=\"a>b\" data-x='1' hidden>quoted &gt; in an attribute</p>after",
    "<P CLASS=x>upper case</P><BR>next",
    "line<br/>line<br />line<br class=x/>line</br>line",
    "<a href=/x/>bare value ending in a slash</a><div/>block",
    "<td>a</td><th>b</th><o:p>office</o:p><x-y>custom</x-y>",
    "<!-- a comment with <p> inside -->text<!-- spaced end -- >more<!DOCTYPE html>end",
    "<!-- unterminated comment <p>text",
    "<script>if (a < b && c > d) { x = '</p>'; }</script>after",
    "<p>before</p><SCRIPT type=x>var s = '<p>';</script >after<style>p{}</style>",
    "<p>before</p><script>never closed<p>dropped",
    "<p>a < b and c <= d, 1<2, x <</p>",
    "&amp<b>;</b> &ampx &#38 &notit; &#x41;&#65",
    "<?xml version='1.0'?><p>pi</p><!x bogus><![if !vml]>word<![endif]>",
    '<a href=x`y=z>odd</a><a title="a"b="c">glued attributes</a><p\vx>vt</p>',
    "<a href='x'\xa0title=y>nbsp between attributes</a><b>unclosed <i attr",
    "</ p>spaced end tag</>empty end tag</3>bogus end",
    "<nav>menu<p>in nav</p></nav>kept<aside><nav>x</aside>after",
]


@pytest.mark.parametrize("html", _TOKENIZER_CASES)
def test_html_to_text_reads_markup_as_html_parser_does(html: str) -> None:
    assert html_to_text(html) == "\n\n".join("\n".join(lines) for lines in _stdlib_paragraphs(html))


def test_fast_tokenizer_agrees_with_html_parser_on_random_markup() -> None:
    from bot.ingest.clean import _fast_extract

    # fmt: off
    pieces = [
        "<", ">", "/", "!", "-", "?", "=", '"', "'", " ", "\n", "\t", "\xa0", "&", "amp;", "&#38;", "a", "p",
        "br", "script", "style", "div", "td", "nav", "x:y", "[", "]", "doctype", "`", "\u200b", ";", "href",
    ]
    # fmt: on
    rng = random.Random(3)
    accepted = 0
    for _ in range(20_000):
        html = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 24)))
        fast = _fast_extract(html)
        if fast is not None:
            accepted += 1
            assert fast.paragraphs == _stdlib_paragraphs(html), html
    assert accepted > 10_000  # the comparison must exercise the fast path, not only fall back


def test_text_without_tags_is_decoded_and_collapsed() -> None:
    assert html_to_text("  Fish &amp; chips\n\n at\u200b noon &notin; ") == "Fish & chips at noon ∉"
    assert html_to_text(" \u00ad ") == ""


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<![CDATA[<p>Wrapped twice.</p>]]>", "Wrapped twice."),
        ("<p>One.</p><![CDATA[<p>Two.</p>]]><p>Three.</p>", "One.\n\nTwo.\n\nThree."),
        # the inner terminator escaped by the publisher, or missing
        ("<![CDATA[<p>Escaped end.</p>]]&gt;", "Escaped end."),
        ("<![CDATA[<p>No end.</p>", "No end."),
        ("<![CDATA[<script></script>]]&gt;", ""),  # feedparser's sanitize/..._nested_cdata case
    ],
)
def test_cdata_markers_are_dropped_and_their_content_read(html: str, expected: str) -> None:
    assert html_to_text(html) == expected
    assert clean_content(html) == expected


def test_plain_text_in_a_cdata_section_is_cleaned_as_html() -> None:
    assert looks_like_html("<![CDATA[Ferry back]]>")
    assert clean_content("<![CDATA[Ferry   back on Tuesday.]]>") == "Ferry back on Tuesday."


def test_looks_like_html() -> None:
    assert looks_like_html("<p>x</p>")
    assert looks_like_html("Fish &amp; chips")
    assert not looks_like_html("AT&T said 3 < 4 and R&D grew")


# --- strip_boilerplate --------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        # share prompts
        "Spread the love",
        "Share this:",
        "Share this article",
        "Share on Facebook",
        "Click to share on Twitter (Opens in new window)",
        "Facebook Twitter LinkedIn Email",
        "Share this: Facebook | X",
        "Follow us on Twitter and Facebook",
        "Like this:",
        "Advertisement",
        # cross-links
        "READ ALSO:  How South Korea's early coronavirus success left it scrambling",
        "Read more: Council budget explained",
        "ALSO READ - Port reopens",
        "Related: Ferry timetable changes",
        "Continue reading…",
        "Read more of this story at Slashdot.",
        "See also: the full report",
        # comment prompts
        "Leave a Reply",
        "Leave a comment",
        "Leave a Reply Cancel reply",
        "3 Comments",
        "No comments",
        "Comments (12)",
        "Join the conversation",
        "[link] [431 comments]",
        # newsletters, cookies, copyright, WordPress footer
        "Subscribe to our newsletter",
        "Sign up for the Harbor Ledger morning newsletter and get the day’s top stories in your inbox.",
        "Get the latest updates delivered to your inbox",
        "We use cookies to give you the best experience on our website.",
        "By continuing to use this site you agree to our use of cookies.",
        "© 2026 Harbor Ledger. All Rights Reserved.",
        "Copyright 2026 Pacific Wire Media",
        "All rights reserved.",
        "The post NATO and South Korea agree to increase global cooperation appeared first on Harbor Ledger.",
        # aggregator furniture seen in ../shared/data/feeds/realworld
        "submitted by /u/kevincox_ca to r/kevincox",
        "submitted by /u/RootDeliver to /r/space [link] [comments]",
        "Learn more",
        "More...",
        "(Leer más)",
        "Views: 12,034",
        "53 ratings",
        "Time: 3:21 More in People & Blogs",
        "41 people call this photo a favorite.",
        # ad blurbs
        "ADVERTISEMENT",
        "Sponsored: Get 20% off your first box",
        "This episode is sponsored by Acme Mattress.",
        # live-blog filler
        "4.12pm GMT",
        "Updated at 10:45 BST",
        "Show key events only",
        "Please turn on JavaScript to use this feature",
        # photo captions and credits
        "Photograph: Jane Doe/Getty Images",
        "Photo: Harbor Ledger staff",
        "(Photo by Sam Whitfield)",
        "Protesters outside the parliament in Lisbon on Friday. Jane Doe/AFP",
    ],
)
def test_each_boilerplate_kind_is_removed(line: str) -> None:
    text = f"The council met on Tuesday.\n\n{line}\n\nThe vote passed."
    assert strip_boilerplate(text) == "The council met on Tuesday.\n\nThe vote passed."


@pytest.mark.parametrize(
    "line",
    [
        "Residents can share their views with the council until Friday.",
        "Please share your views with the council by Friday.",
        "The company did not reply to a request for comment.",
        "She said she would reply to the letter next week.",
        "The ministry's newsletter said exports rose 4 percent.",
        "Subscribers will pay two dollars more from June.",
        "Comments from the public will be read out at the meeting.",
        "Watch-makers in Geneva reported a rise in orders.",
        "Related-party deals rose 4 percent.",
        "The agency shares data with its partners under a 2024 agreement.",
        "Cookies and cakes sold out at the fair by noon.",
        "Copyright lawsuits against the firm were dismissed.",
        "Promoted to captain after the season, Smith led the team to the title.",
        "Sponsored teams must report their budgets to the league.",
        "Live music returns to the harbour on Saturday.",
        "Photographers waited outside the court for hours.",
        "The festival was brought to life by volunteers.",
        "Views differ on how the money should be spent.",
        "From the harbour the smoke was visible for miles.",
    ],
)
def test_real_sentences_that_mention_the_words_are_kept(line: str) -> None:
    text = f"The council met on Tuesday.\n\n{line}"
    assert strip_boilerplate(text) == text


def test_bylines_and_posted_lines_are_dropped_at_the_top_only() -> None:
    text = (
        "By Jane Doe and John Roe, Pacific Wire\n\nPosted on July 2, 2026 by admin\n\n"
        "The council met on Tuesday.\n\nBy Jane Doe"
    )
    assert strip_boilerplate(text) == "The council met on Tuesday.\n\nBy Jane Doe"


def test_a_sentence_starting_with_by_is_not_a_byline() -> None:
    text = "By Friday the council had voted.\n\nIt passed 7 to 2."
    assert strip_boilerplate(text) == text


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        (
            "SEOUL, July 2 (Reuters) - South Korea said on Friday it would act.",
            "South Korea said on Friday it would act.",
        ),
        ("WASHINGTON (AP) — The Senate voted on Tuesday.", "The Senate voted on Tuesday."),
        ("BRUSSELS, July 3 (Harbor Ledger) — NATO agreed.", "NATO agreed."),
        ("NATO and South Korea have agreed to cooperate.", "NATO and South Korea have agreed to cooperate."),
        ("US-CHINA talks resumed on Monday.", "US-CHINA talks resumed on Monday."),
    ],
)
def test_wire_dateline_prefix_is_removed_from_the_first_paragraph(first: str, expected: str) -> None:
    assert (
        strip_boilerplate(f"{first}\n\nSEOUL (Reuters) - stays here.") == f"{expected}\n\nSEOUL (Reuters) - stays here."
    )


def test_related_header_drops_the_headline_list_after_it() -> None:
    text = (
        "NATO agreed on Thursday.\n\nRELATED STORIES\n\nNATO ministers gather in Brussels\n\n"
        "Seoul widens cyber talks\n\nOn Friday, the alliance said more."
    )
    assert strip_boilerplate(text) == "NATO agreed on Thursday.\n\nOn Friday, the alliance said more."


def test_lines_inside_a_paragraph_are_filtered_and_paragraphs_rejoined() -> None:
    assert strip_boilerplate("One.\nShare this:\nTwo.\n\n\n\nLeave a Reply\n\nThree.") == "One.\nTwo.\n\nThree."


def test_strip_boilerplate_splits_paragraphs_on_lines_of_whitespace_only() -> None:
    text = "One\u00a0 two.\n \t\nShare this:\r\nThree\rfour.\n\u2028\nFive.\u200b"
    assert strip_boilerplate(text) == "One two.\n\nThree four.\n\nFive."


# --- clean_content ------------------------------------------------------------------------


def test_clean_content_on_html() -> None:
    html = (
        "<p>NATO and South Korea have agreed.</p><p>Spread the love</p><p>Second   paragraph.</p>"
        "<p><strong>READ ALSO:</strong> <a href='/x'>Other story</a></p><h3>Leave a Reply</h3>"
    )
    assert clean_content(html) == "NATO and South Korea have agreed.\n\nSecond paragraph."


def test_clean_content_on_plain_text_keeps_paragraphs_and_ampersands() -> None:
    raw = "  AT&T and R&D   rose.\r\n\r\n\r\nSpread the love\n\nSecond\tparagraph.\nSame paragraph.  \n"
    assert clean_content(raw) == "AT&T and R&D rose.\n\nSecond paragraph.\nSame paragraph."


@pytest.mark.parametrize("raw", ["", "   ", "<p> </p>", "<script>x()</script>", "Spread the love"])
def test_clean_content_of_nothing_is_empty(raw: str) -> None:
    assert clean_content(raw) == ""


def test_markup_to_line() -> None:
    assert markup_to_line("<b>Bakers &amp; brewers</b>\n fill  the square") == "Bakers & brewers fill the square"
    assert markup_to_line("Moving &lt;a href=&quot;x&quot;&gt;here&lt;/a&gt;") == "Moving here"  # double-escaped
    assert markup_to_line("AT&T results") == "AT&T results"
    assert markup_to_line("5 < 6 and 7 > 3") == "5 < 6 and 7 > 3"


def test_extract_article_keeps_the_story_and_drops_page_chrome() -> None:
    from bot.ingest.clean import extract_article

    body = " ".join(f"The council met on day {i} to discuss the new harbour bridge and its cost." for i in range(12))
    page = (
        "<html><head><title>Bridge</title></head><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<article><h1>Council backs harbour bridge</h1><p>{body}</p><p>Share this:</p></article>"
        "<footer><p>Sign up for our newsletter to get updates in your inbox</p>"
        "<p>© 2026 Harbor Ledger. All rights reserved.</p></footer></body></html>"
    )
    text = extract_article(page, "https://harborledger.example/bridge")
    assert "harbour bridge and its cost" in text
    assert "newsletter" not in text and "All rights reserved" not in text and "Share this" not in text
    assert extract_article("", None) == ""


def test_reddit_footer_at_the_end_of_a_self_post_goes_and_the_post_stays() -> None:
    text = "I would appreciate any suggestions for my homelab. submitted by /u/noxitbyt [link] [comments]"
    assert strip_boilerplate(text) == "I would appreciate any suggestions for my homelab."


def test_related_list_headers_in_other_languages_take_their_list_along() -> None:
    text = "Il consiglio ha votato martedì.\n\nArticoli correlati\nGucci, 90 anni di eleganza\nBagaglino addio"
    assert strip_boilerplate(text) == "Il consiglio ha votato martedì."
