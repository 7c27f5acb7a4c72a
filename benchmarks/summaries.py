"""What digest summaries say on real feeds: how many are empty, repeat the headline, end on a cut
("..." / "…") or still hold a boilerplate line, over every item of ../shared/data/feeds/realworld.

Each item goes through the bot's own parse -> enrich path, and its summary is rendered the way a
digest shows it (through `bot.digest.story_view`); "no own text" counts the items whose feed
gives nothing beyond the headline. Run it from a checkout to measure that checkout's code, e.g.
before and after a change (a snapshot of main: `git archive main | tar -x -C /tmp/main`):

    python benchmarks/summaries.py [--data ../shared/data] [--examples N]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import DigestSettings  # noqa: E402
from bot.digest import story_view  # noqa: E402
from bot.enrich import enrich  # noqa: E402
from bot.errors import FeedError  # noqa: E402
from bot.ingest.parse import parse_feed  # noqa: E402
from bot.models import FeedItem  # noqa: E402
from bot.store.rows import StoredArticle  # noqa: E402

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
# Lines a reader recognises as feed furniture, not news: measured here independently of the
# bot's own rules so a rule that misses them shows up.
BOILERPLATE = re.compile(
    r"submitted by\s+/?u/|\[link\]|\[comments\]|\bappeared first on\b|^advertisement\b|\bclick here\b"
    r"|(?:^|[.!?]\s+)(?:read more|continue reading)\b|\(photo:|\bphoto:|\bgetty images\b|\bcomments?\s*\(\d+\)",
    re.IGNORECASE | re.MULTILINE,
)
_CUT = re.compile(r"(?:\.\.\.|…)[\"'”’)\]]*\s*$")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def rendered(item: FeedItem, settings: DigestSettings) -> str:
    """The summary a digest shows for this item as a one-article story (through `story_view`)."""
    info = enrich(item, settings)
    article = StoredArticle(
        id=1,
        feed_id=1,
        source="feed",
        title=item.title,
        url=item.url,
        text=item.text,
        published_at=item.published,
        first_seen_at=NOW,
        summary=info.summary,
        entities=info.entities,
        story_id=1,
    )
    return story_view(1, [article], settings).summary


def repeats_title(text: str, title: str) -> bool:
    words, head = _WORD.findall(text.casefold()), set(_WORD.findall(title.casefold()))
    return bool(words) and bool(head) and all(w in head for w in words)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--examples", type=int, default=0, help="print this many examples of each problem")
    args = parser.parse_args()
    folder = args.data / "feeds" / "realworld"
    settings = DigestSettings()
    counts = {"items": 0, "no own text": 0, "empty": 0, "repeats title": 0, "ends in ...": 0, "boilerplate": 0}
    examples: dict[str, list[str]] = {k: [] for k in counts}
    started = time.perf_counter()
    with (folder / "MANIFEST.csv").open(newline="", encoding="utf-8") as fh:
        paths = [row["path"] for row in csv.DictReader(fh)]
    for path in paths:
        try:
            parsed = parse_feed((folder / path).read_bytes(), url=f"https://feeds.example/{path}", now=NOW)
        except FeedError:
            continue
        for item in parsed.items:
            counts["items"] += 1
            text = rendered(item, settings)
            found = {
                "no own text": not item.text.strip() or repeats_title(item.text, item.title),
                "empty": not text.strip(),
                "repeats title": repeats_title(text, item.title),
                "ends in ...": bool(_CUT.search(text)),
                "boilerplate": bool(BOILERPLATE.search(text)),
            }
            for key, hit in found.items():
                if hit:
                    counts[key] += 1
                    if len(examples[key]) < args.examples:
                        examples[key].append(f"{path}: {item.title[:60]!r} -> {text[-90:]!r}")
    seconds = time.perf_counter() - started
    print(f"code: {ROOT}")
    print(f"{len(paths)} feed files, {counts['items']} items, {seconds:.1f}s")
    for key, n in counts.items():
        if key != "items":
            print(f"  {key:<14} {n:>5}  ({100 * n / max(1, counts['items']):.1f}%)")
            for line in examples[key]:
                print(f"      {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
