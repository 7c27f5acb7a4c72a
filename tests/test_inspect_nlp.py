"""`newsbot inspect condense|entities|cluster` as JSON Lines filters (run_inspect with StringIO)."""

from __future__ import annotations

import io
import json
from typing import Any

from bot.config import DigestSettings
from bot.inspect_nlp import run_inspect

NATO = {
    "id": "n1",
    "title": "NATO and South Korea agree to increase global cooperation",
    "text": "<p>By Jane Doe</p><p>SEOUL, July 3 (Reuters) - NATO and South Korea agreed on Friday to deepen "
    "cooperation. Kim Kyung-hyup, chairman of South Korea's intelligence committee, met Stian Jenssen at "
    "NATO headquarters in Brussels.</p><p>Share this:</p><p>Jenssen said the talks went well.</p>",
}


def run(kind: str, lines: list[Any]) -> tuple[int, list[dict[str, Any]], str]:
    inp = io.StringIO("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    out, err = io.StringIO(), io.StringIO()
    code = run_inspect(kind, inp, out, err, DigestSettings())
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_condense_cleans_summarises_and_spans_index_the_cleaned_text() -> None:
    code, out, err = run(
        "condense", [NATO, {"id": 2, "title": "", "text": "One short line. Another one here.", "sentences": 1}]
    )
    assert code == 0 and err == "" and [o["id"] for o in out] == ["n1", 2]
    first = out[0]
    assert "Share this" not in first["text"] and "Jane Doe" not in first["text"]
    assert first["text"].startswith("NATO and South Korea")  # dateline gone
    assert 1 <= len(first["summary"]) <= 3
    for e in first["entities"]:
        assert first["text"][e["start"] : e["end"]] == e["text"]
        assert e["label"] in {"PER", "ORG", "LOC", "MISC"}
    assert {"NATO", "South Korea", "Kim Kyung-hyup", "Stian Jenssen"} <= set(first["key_entities"])
    assert len(first["key_entities"]) <= 5
    assert len(out[1]["summary"]) == 1


def test_entities_spans_index_the_text_unchanged() -> None:
    text = "  U.S. President Joe Biden met Teacher Oliver Grant in Paris on Sundays."
    code, out, _ = run("entities", [{"id": "a", "text": text}])
    assert code == 0
    found = {(e["text"], e["label"]) for e in out[0]["entities"]}
    assert ("Joe Biden", "PER") in found and ("Oliver Grant", "PER") in found and ("Paris", "LOC") in found
    assert not any(e["text"] in ("Sundays", "Teacher Oliver Grant") for e in out[0]["entities"])
    for e in out[0]["entities"]:
        assert text[e["start"] : e["end"]] == e["text"]


def test_cluster_labels_every_input_in_order() -> None:
    rows = [
        {
            "id": "a",
            "title": "Ferry fares rise on Gull Island route",
            "text": "Island Ferries Ltd raised fares by 8%.",
            "url": "https://x.example/a",
            "source": "X",
            "published": "2026-07-01T08:00:00Z",
        },
        {
            "id": "b",
            "title": "Gull Island ferry fares go up 8%",
            "text": "Island Ferries Ltd raised fares by 8%.",
            "url": "https://y.example/b",
            "source": "Y",
            "published": "2026-07-01T09:00:00+00:00",
        },
        {
            "id": "c",
            "title": "Library opens on Sundays",
            "text": "Westbridge Public Library will open on Sundays.",
            "url": "",
            "source": "Z",
        },
    ]
    code, out, _ = run("cluster", rows)
    assert code == 0
    assert out == [{"id": "a", "story": "a"}, {"id": "b", "story": "a"}, {"id": "c", "story": "c"}]


def test_malformed_line_stops_with_its_number_and_nothing_else_on_stdout() -> None:
    code, out, err = run("entities", [{"id": 1, "text": "Paris."}, "", "{not json", {"id": 3, "text": "x"}])
    assert code == 1 and len(out) == 1
    assert "line 3" in err
    code, out, err = run("condense", [{"id": 1}])
    assert code == 1 and out == [] and "line 1" in err and '"text"' in err
    code, _, err = run("cluster", [{"id": 1, "title": "t", "published": "yesterday"}])
    assert code == 1 and "published" in err
    code, _, err = run("condense", [[1, 2]])
    assert code == 1 and "object" in err
    code, _, err = run("nope", [])
    assert code == 1 and "unknown kind" in err
