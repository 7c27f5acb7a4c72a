"""bot.heap: the long-lived data leaves the collector's sight after enough growth, and a cycle
that dies among frozen objects is still collected at the next freeze."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot import heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def thawed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(heap, "FREEZE_AFTER", 10)
    monkeypatch.setattr(heap, "_since_freeze", 0)
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_freezes_only_after_enough_growth() -> None:
    assert not heap.grew(4) and not heap.grew(5) and gc.get_freeze_count() == 0
    assert heap.grew(1)
    assert gc.get_freeze_count() > 0
    assert not heap.grew(9)  # the count starts again


def test_a_cycle_that_dies_while_frozen_is_collected_at_the_next_freeze() -> None:
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    assert heap.grew(10)  # the live cycle is frozen with everything else
    del a, b
    gc.collect()
    assert gone() is not None  # frozen objects are out of the collector's sight
    assert heap.grew(10)
    assert gone() is None
