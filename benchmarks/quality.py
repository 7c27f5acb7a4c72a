"""News intelligence quality: summaries, entities, clustering and boilerplate on ../shared/data dev sets.

Everything goes through `bot.inspect_nlp` (the `newsbot inspect` commands) and is scored with
../shared/data/tools; every figure is printed next to its baselines measured in the same run.
Needs `pip install rouge-score` (summaries) and optionally trafilatura (full-text extraction).

    python benchmarks/quality.py [--only summaries,entities,ecb_entities,clusters,boilerplate,speed,followups]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import heapq
import io
import itertools
import json
import logging
import random
import re
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DATA / "tools"))

from bot.config import DigestSettings  # noqa: E402
from bot.inspect_nlp import run_inspect  # noqa: E402

SETTINGS = DigestSettings()
SHUFFLES = 20  # ECB+ orders averaged: one online order can be lucky or unlucky (5 were too few)


def inspect(kind: str, rows: Iterable[dict[str, Any]], settled: bool = False) -> tuple[list[dict[str, Any]], float]:
    """Run one inspection command over rows; (output rows, seconds)."""
    inp = io.StringIO("".join(json.dumps(r) + "\n" for r in rows))
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    code = run_inspect(kind, inp, out, err, SETTINGS, settled=settled)
    seconds = time.perf_counter() - started
    if code:
        raise SystemExit(f"inspect {kind} failed: {err.getvalue()}")
    return [json.loads(line) for line in out.getvalue().splitlines()], seconds


def _rouge(gold: Path, pred: dict[str, list[str]] | None, lead: int = 0) -> dict[str, float]:
    import score_nlp

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for ident, sents in (pred or {}).items():
            f.write(json.dumps({"id": ident, "summary": "\n".join(sents)}) + "\n")
    args = argparse.Namespace(gold=str(gold), pred=f.name if pred is not None else None, lead=lead, bootstrap=0)
    res: dict[str, float] = score_nlp.cmd_rouge(args)["f1"]
    return res


def _fmt_rouge(r: dict[str, float]) -> str:
    return f"R-1 {r['rouge1']:5.2f}  R-2 {r['rouge2']:5.2f}  R-Lsum {r['rougeLsum']:5.2f}"


def summaries() -> None:
    import score_nlp

    print("== Summaries (ROUGE F1 x100, rouge-score 0.1.2 with stemmer, via tools/score_nlp.py)")
    for name, sentences in (("cnndm_dev.jsonl", 3), ("xsum_dev.jsonl", 1)):
        path = DATA / "nlp" / name
        gold = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
        is_xsum = "summary" in gold[0]
        rows = [
            {
                "id": g["id"],
                "title": "",
                "text": score_nlp.clean_xsum_article(g["article"]) if is_xsum else g["article"],
                "sentences": sentences,
            }
            for g in gold
        ]
        out, seconds = inspect("condense", rows)
        ours = _rouge(path, {str(o["id"]): o["summary"] for o in out})
        lead = _rouge(path, None, lead=sentences)
        print(f"  {name} ({len(gold)} articles, {sentences} sentence(s))")
        print(f"    newsbot condense        {_fmt_rouge(ours)}   {1000 * seconds / len(rows):.2f} ms/article")
        print(f"    baseline Lead-{sentences} (naive) {_fmt_rouge(lead)}")


def _conll_docs(path: Path) -> list[list[list[tuple[str, str]]]]:
    """Documents -> sentences -> (word, tag); in this copy -DOCSTART- ends its document."""
    docs: list[list[list[tuple[str, str]]]] = [[]]
    cur: list[tuple[str, str]] = []
    for line in path.open(encoding="utf-8"):
        if not line.strip() or line.startswith("-DOCSTART-"):
            if cur:
                docs[-1].append(cur)
            cur = []
            if line.startswith("-DOCSTART-") and docs[-1]:
                docs.append([])
            continue
        parts = line.split()
        cur.append((parts[0], parts[-1]))
    if cur:
        docs[-1].append(cur)
    return [d for d in docs if d]


def _tags_from_spans(words: list[str], ents: list[dict[str, Any]]) -> list[str]:
    """IOB2 tags for space-joined words from character spans (a token is in the entity it overlaps)."""
    starts, pos = [], 0
    for w in words:
        starts.append(pos)
        pos += len(w) + 1
    tags = ["O"] * len(words)
    for e in ents:
        inside = [i for i, s in enumerate(starts) if s < e["end"] and s + len(words[i]) > e["start"]]
        for k, i in enumerate(inside):
            if tags[i] == "O":
                tags[i] = ("B-" if k == 0 else "I-") + e["label"]
    return tags


def _ner_score(gold_path: Path, pred_tags: list[list[str]], sents: list[list[tuple[str, str]]]) -> dict[str, Any]:
    import score_nlp

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for sent, tags in zip(sents, pred_tags, strict=True):
            f.writelines(f"{w} {t}\n" for (w, _), t in zip(sent, tags, strict=True))
            f.write("\n")
    res: dict[str, Any] = score_nlp.cmd_ner(argparse.Namespace(gold=str(gold_path), pred=f.name))
    return res


_CAPS_RUN = re.compile(r"[A-Z][\w'.-]*(?:\s+[A-Z][\w'.-]*)*")


def entities() -> None:
    print("== Entities (CoNLL-2003 dev, tools/score_nlp.py ner; spans mapped back to the gold tokens)")
    path = DATA / "nlp" / "conll2003_dev.txt"
    docs = _conll_docs(path)
    sents = [s for d in docs for s in d]
    # Whole documents, one sentence per line, so that "Jenssen" can resolve to "Stian Jenssen".
    rows = [{"id": i, "text": "\n".join(" ".join(w for w, _ in s) for s in d)} for i, d in enumerate(docs)]
    out, seconds = inspect("entities", rows)
    tokens = sum(len(s) for s in sents)
    pred = []
    for d, o in zip(docs, out, strict=True):
        offset = 0
        for s in d:
            text_len = len(" ".join(w for w, _ in s))
            local = [
                {**e, "start": e["start"] - offset, "end": e["end"] - offset}
                for e in o["entities"]
                if offset <= e["start"] < offset + text_len
            ]
            pred.append(_tags_from_spans([w for w, _ in s], local))
            offset += text_len + 1
    ours = _ner_score(path, pred, sents) | _overlap_prf(path, pred)
    # Baseline: every capitalised run not opening the sentence is one ORG (the label CoNLL uses most for unknowns).
    base = []
    for s in sents:
        text = " ".join(w for w, _ in s)
        spans = [
            {"start": m.start(), "end": m.end(), "label": "ORG"} for m in _CAPS_RUN.finditer(text) if m.start() > 0
        ]
        base.append(_tags_from_spans([w for w, _ in s], spans))
    baseline = _ner_score(path, base, sents) | _overlap_prf(path, base)
    for name, r in (("newsbot heuristic", ours), ("baseline capitalised runs", baseline)):
        print(
            f"  {name:26s} strict P {r['P']:5.1f} R {r['R']:5.1f} F1 {r['F1']:5.1f}  "
            f"overlap P {r['overlap_P']:5.1f} R {r['overlap_R']:5.1f} F1 {r['F1_lenient_overlap']:5.1f}  "
            f"any-type overlap P {r['untyped_P']:5.1f} R {r['untyped_R']:5.1f}  per type {r['per_type_F1']}"
        )
    print(f"  tokens/s: {tokens / seconds:,.0f} ({tokens} tokens, {seconds:.2f} s, through inspect entities)")
    seed = _seed_article()
    if seed:
        out, _ = inspect("condense", [seed])
        print(f"  seed article key entities: {out[0]['key_entities']}")


def _overlap_prf(gold_path: Path, pred_tags: list[list[str]]) -> dict[str, float]:
    """Overlap precision and recall (score_nlp prints only their F1), typed and untyped.

    Untyped overlap is what a reader sees of highlighting: a bolded word is a name or it is not.
    """
    import score_nlp

    gold = [tags for _, tags in score_nlp.read_conll(str(gold_path))]
    pred = [score_nlp.iob1_to_iob2(tags) for tags in pred_tags]
    out: dict[str, float] = {}
    for prefix, typed in (("overlap", True), ("untyped", False)):
        hit_p = hit_g = n_p = n_g = 0
        for g, p in zip(gold, pred, strict=True):
            ge, pe = score_nlp.entities(g), score_nlp.entities(p)
            n_g, n_p = n_g + len(ge), n_p + len(pe)
            hit_g += sum(any(_meets(a, b, typed) for b in pe) for a in ge)
            hit_p += sum(any(_meets(b, a, typed) for a in ge) for b in pe)
        out[f"{prefix}_P"] = 100 * hit_p / n_p if n_p else 0.0
        out[f"{prefix}_R"] = 100 * hit_g / n_g if n_g else 0.0
    return out


def _meets(a: tuple[str, int, int], b: tuple[str, int, int], typed: bool) -> bool:
    return (not typed or a[0] == b[0]) and not (a[2] < b[1] or a[1] > b[2])


# spaCy's labels for names (its DATE, MONEY, CARDINAL... are not what newsbot highlights)
_SPACY_NAMES = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW"})


def ecb_entities() -> None:
    """ECB+ has no entity gold: spaCy's en_core_web_sm names serve as a silver reference.

    Two views: every extracted entity, and the key entities a digest would bold in each summary.
    """
    try:
        import spacy

        from bot.nlp.entities_spacy import MODELS

        nlp = next(spacy.load(m, disable=["lemmatizer"]) for m in MODELS if spacy.util.is_package(m))
    except (ImportError, OSError, StopIteration) as exc:
        print(f"== Entities on ECB+ dev: skipped (spaCy's en_core_web_sm is not installed: {exc})")
        return
    from bot.nlp.condense import condense
    from bot.nlp.entities import extract_entities
    from bot.nlp.highlight import highlight
    from bot.nlp.salience import rank_entities

    arts, _ = _ecb()
    counts = dict.fromkeys(("ent_hit_p", "ent_n_p", "ent_hit_g", "ent_n_g", "hl_hit", "hl_n", "hl_first"), 0)
    for a in arts:
        text = a["text"]
        silver = [(e.start_char, e.end_char) for e in nlp(text).ents if e.label_ in _SPACY_NAMES]
        ours = [(e.start, e.end) for e in extract_entities(text)]
        counts["ent_n_p"] += len(ours)
        counts["ent_n_g"] += len(silver)
        counts["ent_hit_p"] += sum(any(s < e2 and s2 < e for s2, e2 in silver) for s, e in ours)
        counts["ent_hit_g"] += sum(any(s < e2 and s2 < e for s2, e2 in ours) for s, e in silver)
        summary = " ".join(condense(a["title"], text, max_sentences=SETTINGS.summary_sentences))
        _, spans = highlight(summary, rank_entities(a["title"], text), limit=SETTINGS.key_entities)
        doc = nlp(summary)
        names = [(e.start_char, e.end_char) for e in doc.ents if e.label_ in _SPACY_NAMES]
        starts = {s.start_char for s in doc.sents}
        counts["hl_n"] += len(spans)
        counts["hl_hit"] += sum(any(sp.start < e2 and s2 < sp.end for s2, e2 in names) for sp in spans)
        counts["hl_first"] += sum(
            sp.start in starts
            and " " not in summary[sp.start : sp.end]
            and not any(sp.start < e2 and s2 < sp.end for s2, e2 in names)
            for sp in spans
        )
    c = counts
    p = 100 * c["ent_hit_p"] / max(c["ent_n_p"], 1)
    r = 100 * c["ent_hit_g"] / max(c["ent_n_g"], 1)
    print("== Entities on ECB+ dev texts (silver: spaCy en_core_web_sm names; any-type overlap)")
    print(
        f"  {len(arts)} articles: extracted {c['ent_n_p']}, silver {c['ent_n_g']}; "
        f"P {p:5.1f} R {r:5.1f} F1 {2 * p * r / max(p + r, 1e-9):5.1f}"
    )
    on_name = 100 * c["hl_hit"] / max(c["hl_n"], 1)
    print(
        f"  highlights in summaries: {c['hl_n']} bolded, {on_name:5.1f}% on a silver name; "
        f"{c['hl_first']} single words opening a sentence that spaCy does not call a name"
    )


def _seed_article() -> dict[str, Any] | None:
    import feedparser

    for feed in sorted((ROOT / "examples" / "feeds").glob("*.xml")):
        for entry in feedparser.parse(feed.read_bytes()).entries:
            if "NATO" in entry.get("title", ""):
                text = entry.get("content", [{}])[0].get("value") or entry.get("summary", "")
                return {"id": "seed", "title": entry["title"], "text": text}
    return None


def _ecb() -> tuple[list[dict[str, Any]], dict[str, str]]:
    with gzip.open(DATA / "dedupe/ecb_plus_dev/docs.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    arts = []
    for r in rows:
        first, _, rest = r["text"].partition("\n")
        arts.append({"id": r["doc_id"], "title": first, "text": rest, "source": r["doc_id"], "url": ""})
    return arts, {r["doc_id"]: r["story_id"] for r in rows}


def _uci() -> tuple[list[dict[str, Any]], dict[str, str]]:
    with gzip.open(
        DATA / "dedupe/uci_news_aggregator/uci_news_aggregator_first6366.csv.gz", "rt", encoding="utf-8"
    ) as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["TIMESTAMP"]))
    arts = [
        {
            "id": r["ID"],
            "title": r["TITLE"],
            "text": "",
            "url": r["URL"],
            "source": r["PUBLISHER"],
            "published": datetime.fromtimestamp(int(r["TIMESTAMP"]) / 1000, UTC).isoformat(),
        }
        for r in rows
    ]
    return arts, {r["ID"]: r["STORY"] for r in rows}


_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "at",
        "by",
        "with",
        "from",
        "as",
        "it",
        "its",
        "be",
        "has",
        "have",
    ]
)


def _word_overlap(arts: list[dict[str, Any]], threshold: float, lead_only: bool) -> dict[str, int]:
    """Baseline: greedy leader clustering at stop-word-filtered token Jaccard >= threshold."""
    leaders: list[tuple[set[str], int]] = []
    pred = {}
    for a in arts:
        text = a["title"] if lead_only else a["title"] + " " + a["text"]
        words = {w for w in re.findall(r"\w+", text.lower()) if w not in _STOP}
        best, best_j = None, threshold
        for lw, label in leaders:
            j = len(words & lw) / (len(words | lw) or 1)
            if j >= best_j:
                best, best_j = label, j
        if best is None:
            best = len(leaders)
            leaders.append((words, best))
        pred[a["id"]] = best
    return pred


def _scores(gold: dict[str, str], pred: dict[str, Any]) -> tuple[float, float]:
    import metrics

    return metrics.bcubed(gold, pred)["f1"], metrics.pairwise_prf(gold, pred)["f1"]


def clusters() -> None:
    print("== Clustering (B-cubed F1 / pairwise F1, tools/metrics.py; one configuration for both sets)")
    arts, gold = _ecb()
    ours, streamed, base, base_topic = [], [], [], []
    for seed in range(SHUFFLES):
        order = arts[:]
        random.Random(seed).shuffle(order)
        out, _ = inspect("cluster", order, settled=True)
        ours.append(_scores(gold, {o["id"]: o["story"] for o in out}))
        out, _ = inspect("cluster", order)
        streamed.append(_scores(gold, {o["id"]: o["story"] for o in out}))
        base.append(_scores(gold, _word_overlap(order, 0.3, lead_only=True)))
    topic = {a["id"]: a["id"].split("_")[0] for a in arts}
    base_topic.append(_scores(gold, topic))

    def mean(xs: list[tuple[float, float]]) -> str:
        b = sum(x[0] for x in xs) / len(xs)
        p = sum(x[1] for x in xs) / len(xs)
        return f"B3 F1 {b:.3f}  pairwise F1 {p:.3f}"

    print(f"  ecb_plus_dev ({len(arts)} articles, mean of {SHUFFLES} shuffled orders)")

    def worst(xs: list[tuple[float, float]]) -> str:
        return f"(worst order {min(b for b, _ in xs):.3f} / {min(p for _, p in xs):.3f})"

    print(f"    newsbot, settled              {mean(ours)}   {worst(ours)}")
    print("      (the stories as they stand after the last article: what a digest then carries)")
    print(f"    newsbot, as each arrived      {mean(streamed)}   {worst(streamed)}")
    print("      (each article's story when it was decided: inspect cluster without --settled)")
    print(f"    baseline lead word overlap    {mean(base)}")
    print(f"    baseline one story per topic  {mean(base_topic)}  (merging each topic's two events)")
    _ecb_ceiling(arts, gold)
    arts, gold = _uci()
    out, seconds = inspect("cluster", arts, settled=True)
    print(f"  uci_news_aggregator ({len(arts)} headlines in time order, {seconds:.1f} s through inspect cluster)")
    print(f"    newsbot, settled              {mean([_scores(gold, {o['id']: o['story'] for o in out})])}")
    out, _ = inspect("cluster", arts)
    print(f"    newsbot, as each arrived      {mean([_scores(gold, {o['id']: o['story'] for o in out})])}")
    print(f"    baseline word Jaccard >= 0.3  {mean([_scores(gold, _word_overlap(arts, 0.3, lead_only=True))])}")


def _ecb_ceiling(arts: list[dict[str, Any]], gold: dict[str, str]) -> None:
    """What the same pair scores allow at best, offline and with the answers: average-link clustering
    of all articles at its best threshold, and at the best threshold for each topic on its own."""
    import metrics

    from bot.clustering import pair_scores
    from bot.enrich import Enriched, cluster_features
    from bot.ingest.clean import clean_content
    from bot.nlp.fingerprint import content_hash

    infos = []
    for a in arts:
        title, text = clean_content(a["title"]).replace("\n", " "), clean_content(a["text"])
        infos.append(Enriched([], [], content_hash(text or title), cluster_features(title, text, None)))
    sims = pair_scores(infos)
    ids = [a["id"] for a in arts]
    thresholds = [t / 100 for t in range(10, 51)]

    def average_link(members: list[int]) -> list[tuple[float, int, int]]:
        """UPGMA merges (similarity, a, b) in order; clusters are named by a member index."""
        size = {i: 1 for i in members}
        link = {(i, j): sims[i][j] for i in members for j in members if i < j}
        heap = [(-s, i, j) for (i, j), s in link.items()]
        heapq.heapify(heap)
        merges = []
        while heap:
            neg, i, j = heapq.heappop(heap)
            if i not in size or j not in size or link.get((i, j)) != -neg:
                continue  # a cluster already merged away, or an outdated similarity
            merges.append((-neg, i, j))
            for k in size:
                if k not in (i, j):
                    ik, jk = (min(i, k), max(i, k)), (min(j, k), max(j, k))
                    merged = (link[ik] * size[i] + link[jk] * size[j]) / (size[i] + size[j])
                    link[ik] = merged
                    heapq.heappush(heap, (-merged, *ik))
            size[i] += size.pop(j)
        return merges

    def cut(members: list[int], merges: list[tuple[float, int, int]], t: float) -> dict[str, int]:
        parent = {i: i for i in members}

        def root(i: int) -> int:
            while parent[i] != i:
                i = parent[i]
            return i

        for s, i, j in merges:
            if s >= t:
                parent[root(j)] = root(i)
        return {ids[i]: root(i) for i in members}

    everyone = list(range(len(arts)))
    merges = average_link(everyone)
    best = max(thresholds, key=lambda t: metrics.pairwise_prf(gold, cut(everyone, merges, t))["f1"])
    pred = cut(everyone, merges, best)
    print(
        f"    ceiling: offline average link at {best:.2f} (chosen with the answers)  "
        f"B3 F1 {metrics.bcubed(gold, pred)['f1']:.3f}  pairwise F1 {metrics.pairwise_prf(gold, pred)['f1']:.3f}"
    )
    oracle: dict[str, Any] = {}
    for topic in sorted({a["id"].split("_")[0] for a in arts}):
        members = [i for i, a in enumerate(arts) if a["id"].split("_")[0] == topic]
        sub_gold = {ids[i]: gold[ids[i]] for i in members}
        tm = average_link(members)
        t = max(thresholds, key=lambda t: metrics.pairwise_prf(sub_gold, cut(members, tm, t))["f1"])
        oracle |= {k: f"{topic}:{v}" for k, v in cut(members, tm, t).items()}
    print(
        f"    ceiling: each topic at its own best threshold  "
        f"B3 F1 {metrics.bcubed(gold, oracle)['f1']:.3f}  pairwise F1 {metrics.pairwise_prf(gold, oracle)['f1']:.3f}"
        "  (uses the answers)"
    )


def boilerplate() -> None:
    import metrics

    from bot.ingest.clean import clean_content, extract_article, html_to_text

    logging.getLogger("trafilatura").setLevel(logging.ERROR)  # it logs each page it discards
    print("== Boilerplate (trafilatura_eval subset: must-keep kept / must-drop dropped, tools/metrics.py)")
    folder = DATA / "boilerplate" / "trafilatura_eval"
    evaldata = json.loads((folder / "evaldata_subset.json").read_text(encoding="utf-8"))
    systems = {
        "all visible text (baseline)": html_to_text,
        "newsbot cleaner (feed mode)": clean_content,
        "newsbot extract_article (full-text mode)": lambda h: extract_article(h, None),
    }
    for name, fn in systems.items():
        tp = fp = fn_ = tn = 0
        started = time.perf_counter()
        for key, entry in evaldata.items():
            with gzip.open(folder / "html" / (entry["file"] + ".gz"), "rt", encoding="utf-8", errors="replace") as f:
                html = f.read()
            url = key if key.startswith("http") else None
            text = extract_article(html, url) if "extract" in name else fn(html)
            a, b, c, d = metrics.snippet_counts(entry.get("with", []), entry.get("without", []), text)
            tp, fp, fn_, tn = tp + a, fp + b, fn_ + c, tn + d
        ms = 1000 * (time.perf_counter() - started) / len(evaldata)
        print(
            f"  {name:42s} must-keep kept {tp}/{tp + fn_} ({tp / (tp + fn_):.1%})  "
            f"must-drop dropped {tn}/{tn + fp} ({tn / (tn + fp):.1%})  {ms:.1f} ms/page"
        )


def _feed_stream(n: int) -> list[tuple[str, str, datetime | None]]:
    """n (title, text, published) items shaped like a day of real feeds, from real text only.

    Every real item once: the real-world feed corpus's entries, ECB+, CNN/DM and XSum articles
    and the UCI headlines (title-only items, as many feeds send). The rest are syndicated copies
    of full-text articles (a random 70-90% of their sentences, as outlets trim wire copy), so
    stories of a few articles form the way they do in a real stream. Vocabulary, story sizes
    and term frequencies are therefore those of real news, not of a small shared sentence pool.
    """
    import feedparser

    from bot.ingest.clean import clean_content

    items: list[tuple[str, str, datetime | None]] = []
    realworld = DATA / "feeds" / "realworld"
    with (realworld / "MANIFEST.csv").open(encoding="utf-8") as f:
        paths = [row["path"] for row in csv.DictReader(f)]
    for path in paths:
        parsed = feedparser.parse((realworld / path).read_bytes(), sanitize_html=False, resolve_relative_uris=False)
        for e in parsed.entries:
            body = (e.get("content") or [{}])[0].get("value") or e.get("summary") or ""
            items.append((clean_content(e.get("title") or "").replace("\n", " "), clean_content(body), None))
    ecb, _ = _ecb()
    items += [(a["title"], a["text"], None) for a in ecb]
    for name in ("cnndm_dev.jsonl", "xsum_dev.jsonl"):
        for line in (DATA / "nlp" / name).open(encoding="utf-8"):
            text = json.loads(line)["article"]
            first, _, rest = text.partition(". ")
            items.append((first, rest, None))
    uci, _ = _uci()
    items += [(a["title"], "", datetime.fromisoformat(a["published"])) for a in uci]
    rnd = random.Random(0)
    full = [it for it in items if len(it[1]) > 500]
    while len(items) < n:
        title, text, _ = rnd.choice(full)
        sents = re.split(r"(?<=[.!?])\s+", text)
        keep = sorted(rnd.sample(range(len(sents)), max(1, int(len(sents) * rnd.uniform(0.7, 0.9)))))
        items.append((title, " ".join(sents[i] for i in keep), None))
    items = items[:n]
    rnd.shuffle(items)
    return items


def _pool_stream(n: int) -> list[tuple[str, str, datetime | None]]:
    """The earlier synthetic set: a UCI headline and six sentences drawn from one CNN/DM pool.

    A stress case, not a feed: with ~2,000 sentences for 10,000 articles every body term recurs in
    hundreds of articles, so every lookup meets long postings lists.
    """
    gold = [json.loads(line) for line in (DATA / "nlp" / "cnndm_dev.jsonl").open(encoding="utf-8")]
    arts, _ = _uci()
    pool = [sent for g in gold for sent in re.split(r"(?<=[.!?])\s+", g["article"]) if len(sent) > 40]
    rnd = random.Random(0)
    return [(arts[i % len(arts)]["title"], " ".join(rnd.sample(pool, 6)), None) for i in range(n)]


def _cluster_stream(docs: list[tuple[str, str, datetime | None]], settle: bool = True) -> tuple[float, float, int]:
    """(features s/article, clustering s for all, stories) for one stream through a fresh StoryIndex,
    each article a polling pass of its own (settled after it, as the bot settles after each feed)."""
    from bot.clustering import StoryIndex
    from bot.enrich import Enriched, cluster_features
    from bot.models import AppliedPlan
    from bot.nlp.fingerprint import content_hash

    started = time.perf_counter()
    feats = [
        Enriched([], [], content_hash(body or title), cluster_features(title, body, pub)) for title, body, pub in docs
    ]
    t_feat = (time.perf_counter() - started) / len(docs)
    index = StoryIndex(())
    started = time.perf_counter()
    stories = 0
    for n, info in enumerate(feats):
        plan = index.plan([info], settle=settle)
        made = tuple(range(stories, stories + plan.new_stories + len(plan.splits)))
        stories += len(made)
        index.applied(plan, AppliedPlan((n,), made[: plan.new_stories], made[plan.new_stories :]))
    return t_feat, time.perf_counter() - started, stories


def speed() -> None:
    from bot.nlp.condense import condense
    from bot.nlp.salience import rank_entities

    print("== Speed (per article, no I/O)")
    docs = _feed_stream(10_000)
    full = [(t, b) for t, b, _ in docs if len(b) > 500]
    started = time.perf_counter()
    for title, body in full[:1000]:
        condense(title, body, max_sentences=3, max_chars=600)
    t_condense = (time.perf_counter() - started) / 1000
    t_feat, t_cluster, stories = _cluster_stream(docs)
    _, t_unsettled, unsettled_stories = _cluster_stream(docs, settle=False)
    t_full_feat, t_full_cluster, _ = _cluster_stream([(t, b, None) for t, b in full[:2000]])
    started = time.perf_counter()
    for title, body in full[:300]:
        rank_entities(title, body)
    t_ent = (time.perf_counter() - started) / 300
    print(
        f"  full-text article: condense {1000 * t_condense:.2f} ms + cluster features {1000 * t_full_feat:.2f} ms "
        f"+ clustering {1000 * t_full_cluster / 2000:.2f} ms = "
        f"{1000 * (t_condense + t_full_feat + t_full_cluster / 2000):.2f} ms/article"
    )
    print(
        f"  10,000-item feed stream ({len(full)} full-text, rest headline or short items): clustered incrementally "
        f"in {t_cluster:.2f} s ({1000 * t_cluster / len(docs):.2f} ms/article, {stories} stories); "
        f"features {t_feat * len(docs):.2f} s; without settling (same run) {t_unsettled:.2f} s, "
        f"{unsettled_stories} stories"
    )
    pool = _pool_stream(10_000)
    p_feat, p_cluster, p_stories = _cluster_stream(pool)
    _, p_unsettled, p_unsettled_stories = _cluster_stream(pool, settle=False)
    print(
        f"  10,000-article sentence-pool stress set (old synthetic set): clustered in {p_cluster:.2f} s "
        f"({p_stories} stories); features {p_feat * 10_000:.2f} s; without settling (same run) {p_unsettled:.2f} s, "
        f"{p_unsettled_stories} stories"
    )
    print(f"  entity extraction + ranking (reported separately): {1000 * t_ent:.2f} ms/article")


# --- follow-ups ------------------------------------------------------------------------------------

FOLLOWUP_HOURS = 2  # synthetic times: the i-th report of a story arrives i hours after the first
DIGEST_HOURS = 6  # a digest every 6 hours


def _bigrams(text: str) -> set[tuple[str, str]]:
    words = [w.casefold() for w in re.findall(r"\w+", text)]
    return set(itertools.pairwise(words))


def _unposted(sentence: str, posted: list[str]) -> bool:
    """Judge, independent of the detector's word sets: at most half of the sentence's word pairs were posted."""
    pairs = _bigrams(sentence)
    seen = set().union(*(_bigrams(p) for p in posted)) if posted else set()
    return bool(pairs) and len(pairs & seen) / len(pairs) <= 0.5


EDITS = (0.0, 0.2, 0.4)  # share of a copy's words another outlet changed (0: the wire text re-sent as is)


def _edited_copy(article: Any, source: str, aid: int, when: datetime, edit: float, rng: random.Random) -> Any:
    """A known report re-sent by another outlet, with `edit` of its words swapped for others and its last
    sentence dropped (an outlet trimming the wire copy)."""
    from dataclasses import replace as dc_replace

    def rewrite(sentence: str) -> str:
        words = sentence.split()
        for i in range(len(words)):
            if rng.random() < edit:
                words[i] = rng.choice(("reportedly", "officials", "later", "local", "still", "nearby", "early"))
        return " ".join(words)

    summary = [rewrite(x) for x in article.summary]
    summary = summary[:-1] if len(summary) > 1 and edit else summary
    return dc_replace(article, id=aid, source=source, summary=summary, first_seen_at=when, published_at=when)


def _followup_streams() -> list[list[Any]]:
    """ECB+ dev stories as stored articles (summary and entities from bot.enrich), in document order."""
    from datetime import timedelta

    from bot.enrich import enrich
    from bot.models import FeedItem
    from bot.store.rows import StoredArticle

    arts, gold = _ecb()
    by_story: dict[str, list[dict[str, Any]]] = {}
    for a in sorted(
        arts, key=lambda a: (int(a["id"].split("_")[0]), int(re.sub(r"\D", "", a["id"].split("_")[1])), a["id"])
    ):
        by_story.setdefault(gold[a["id"]], []).append(a)
    t0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
    streams = []
    for n, (_, docs) in enumerate(sorted(by_story.items())):
        stream = []
        for i, a in enumerate(docs):
            item = FeedItem(guid=a["id"], url=None, title=a["title"], text=a["text"], published=None)
            e = enrich(item, SETTINGS)
            when = t0 + timedelta(hours=FOLLOWUP_HOURS * i)
            stream.append(
                StoredArticle(
                    n * 1000 + i, i, a["source"], a["title"], None, a["text"], when, when, e.summary, e.entities, n
                )
            )
        streams.append(stream)
    return streams


def _replay(streams: list[list[Any]], tell: Any) -> dict[str, Any]:
    """Each story told at its first report; a digest every DIGEST_HOURS looks at what came since it was
    last told: first copies of a known report from new outlets alone (one per edit level, each on its
    own), then the real later reports. `tell(known, new, earlier)` returns the sentences to post, or None."""
    from datetime import timedelta

    rng = random.Random(16)
    told = novel = 0
    copies = dict.fromkeys(EDITS, 0)
    loud = dict.fromkeys(EDITS, 0)
    for stream in streams:
        first = stream[0]
        posted = [first.title, *first.summary[: SETTINGS.summary_sentences]]
        earlier: list[str] = []
        seen = [first]
        pending = stream[1:]
        slot = first.first_seen_at
        next_id = 10**6
        while pending:
            slot += timedelta(hours=DIGEST_HOURS)
            for edit in EDITS:
                copy = _edited_copy(rng.choice(seen), f"copy-{next_id}", next_id, slot, edit, rng)
                next_id += 1
                copies[edit] += 1
                loud[edit] += tell(seen, [copy], earlier) is not None
            arrived = [a for a in pending if a.first_seen_at <= slot]
            pending = [a for a in pending if a.first_seen_at > slot]
            if not arrived:
                continue
            said = tell(seen, arrived, earlier)
            seen += arrived
            if said is None:
                continue
            told += 1
            novel += any(_unposted(x, posted) for x in said)
            posted += list(said)
            earlier += list(said)
    return {"told": told, "novel": novel, "copies": copies, "loud": loud}


def followups() -> None:
    from bot.followups import NOVEL_OVERLAP, OUTLET_JUMP, detect

    t = time.perf_counter()
    streams = _followup_streams()
    reports = sum(len(s) - 1 for s in streams)
    print(f"\n== follow-ups: ECB+ dev, {len(streams)} stories in document order, {reports} later reports ==")
    print(f"   (report i of a story at +{FOLLOWUP_HOURS}i h, a digest every {DIGEST_HOURS} h, and before each digest")
    print(
        f"    a lightly edited copy of a known report from a new outlet; enrich took {time.perf_counter() - t:.1f} s)"
    )

    def ours(novel_overlap: float, outlet_jump: int) -> Any:
        def tell(known: list[Any], new: list[Any], earlier: list[str]) -> tuple[str, ...] | None:
            f = detect(0, known, new, earlier=earlier, novel_overlap=novel_overlap, outlet_jump=outlet_jump)
            return f.sentences if f else None

        return tell

    def every_gain(known: list[Any], new: list[Any], earlier: list[str]) -> tuple[str, ...] | None:
        # baseline: any new outlet is news; say the first sentences of the newest report
        old = {a.source for a in known}
        fresh = [a for a in new if a.source not in old]
        return tuple(fresh[-1].summary[:2]) if fresh else None

    def line(name: str, r: dict[str, Any]) -> str:
        share = r["novel"] / r["told"] if r["told"] else 0.0
        quiet = " ".join(f"{c - r['loud'][e]}/{c}" for e, c in r["copies"].items())
        return (
            f"  {name:<30} told {r['told']:>4}   carry a sentence not posted before {share:6.1%}   copies quiet {quiet}"
        )

    print(f"  (copies quiet: copies with {', '.join(f'{e:.0%}' for e in EDITS)} of their words changed)")
    print(line("baseline: tell every gain", _replay(streams, every_gain)))
    print(
        line(
            f"newsbot (overlap {NOVEL_OVERLAP}, jump {OUTLET_JUMP})", _replay(streams, ours(NOVEL_OVERLAP, OUTLET_JUMP))
        )
    )
    print("  sweep:")
    for novel_overlap, jump in [(x, OUTLET_JUMP) for x in (0.3, 0.4, 0.6, 0.7, 0.8)] + [
        (NOVEL_OVERLAP, j) for j in (1, 2, 5)
    ]:
        print(line(f"  overlap {novel_overlap}, jump {jump}", _replay(streams, ours(novel_overlap, jump))))
    # the sentence-level view behind the overlap threshold
    from bot.followups import content_words, overlap

    later: list[float] = []
    copied: dict[float, list[float]] = {e: [] for e in EDITS}
    rng = random.Random(16)
    for stream in streams:
        sets = [content_words(x) for x in [stream[0].title, *stream[0].summary]]
        for art in stream[1:]:
            later += [max((overlap(content_words(x), k) for k in sets), default=0.0) for x in art.summary]
        for edit in EDITS:
            copy = _edited_copy(stream[0], "copy", 0, stream[0].first_seen_at, edit, rng)
            copied[edit] += [max((overlap(content_words(x), k) for k in sets), default=0.0) for x in copy.summary]
    print("  sentences at or under each overlap with the first report: later reports | copies by edit level")
    for cut in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        share = sum(x <= cut for x in later) / len(later)
        rest = " ".join(f"{sum(x <= cut for x in v) / len(v):6.1%}" for v in copied.values())
        print(f"    <= {cut}: {share:6.1%} | {rest}")


def main() -> None:
    parts = {
        "summaries": summaries,
        "entities": entities,
        "ecb_entities": ecb_entities,
        "clusters": clusters,
        "boilerplate": boilerplate,
        "speed": speed,
        "followups": followups,
    }
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", default=",".join(parts), help="comma-separated: " + ", ".join(parts))
    args = ap.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} is missing: this benchmark reads the shared data in place")
    for name in args.only.split(","):
        parts[name.strip()]()


if __name__ == "__main__":
    main()
