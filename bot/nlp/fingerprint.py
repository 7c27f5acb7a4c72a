"""Fingerprints for duplicate detection: an exact content hash and a shingle sketch.

The sketch keeps the k smallest hashes of a text's word 4-grams (a bottom-k
sketch), so the Jaccard similarity of two long texts is estimated from two short
lists; pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import re

_WORD = re.compile(r"\w+", re.UNICODE)
SKETCH_SIZE = 128
SHINGLE_WORDS = 4


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def content_hash(text: str) -> str:
    """Same words in the same order -> same hash, whatever the whitespace, case or punctuation."""
    return hashlib.blake2b(" ".join(_words(text)).encode(), digest_size=16).hexdigest()


def sketch(text: str, k: int = SKETCH_SIZE) -> list[int]:
    """The k smallest 63-bit hashes of the text's word shingles, ascending."""
    words = _words(text)
    n = SHINGLE_WORDS if len(words) >= SHINGLE_WORDS else max(1, len(words))
    hashes = {
        int.from_bytes(hashlib.blake2b(" ".join(words[i : i + n]).encode(), digest_size=8).digest(), "big") >> 1
        for i in range(max(0, len(words) - n + 1))
    }
    return sorted(hashes)[:k]


def similarity(a: list[int], b: list[int], k: int = SKETCH_SIZE) -> float:
    """Estimated Jaccard similarity of the two texts behind sketches `a` and `b`."""
    if not a or not b:
        return 0.0
    union_bottom = sorted(set(a) | set(b))[:k]
    sa, sb = set(a), set(b)
    shared = sum(1 for h in union_bottom if h in sa and h in sb)
    return shared / len(union_bottom)
