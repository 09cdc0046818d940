"""Screening benchmark: quality and speed of the name matcher, beside baselines.

Run from the repository root: ``python benchmarks/screening/run.py``.

Prints, measured in one run on the real lists (UN 2026 + OFAC SDN 2019 + OFAC
consolidated; ``$LEDGER_SHARED_DATA`` overrides where they are read from):

* precision, recall and F1 of ``score_names`` at the review threshold on the
  labelled pairs (``pairs.csv``), and a threshold sweep;
* the share of the 1,000 unlisted Gaza payee names (``unlisted_gaza_names.txt``)
  that reach the threshold against the full lists;
* the same share for 2,000 heads of household written as Gaza registries write
  them (given, father's, often grandfather's and family name: the generator of
  the batch benchmark, ``benchmarks/write_path``);
* per-name search latency (p50 / p99) through ``NameIndex`` and bulk names/s,
  one name after another, and through ``NameIndex.search_many`` over all CPUs
  (10,000 household names, each way from cold caches);
* the same for the naive baseline: rapidfuzz ``token_sort_ratio`` against
  every name of every list, at its own best threshold;
* OpenSanctions' logic-v2 (nomenklatura) on the labelled pairs, when a Python
  with nomenklatura is found (``$NOMENKLATURA_PYTHON``, else
  ``/tmp/nkvenv/bin/python``, else the current one); otherwise it says why not.

Options: ``--threshold X`` scores at X instead of the matcher's default.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lists import HERE, all_entries, load_lists
from make_data import MATCHABLE
from rapidfuzz import fuzz, process, utils

from ledger.screening import scoring
from ledger.screening.names import (
    MATCHER_VERSION,
    REVIEW_THRESHOLD,
    NameIndex,
    Query,
    normalize_name,
    score_names,
)


def household_names(count: int, seed: int) -> list[str]:
    """Heads of household from the batch benchmark's generator (write_path/run.py)."""
    return [name for name, _ in household_heads(count, seed)]


def household_heads(
    count: int, seed: int, *, birth_dates: bool = False
) -> list[tuple[str, str | None]]:
    """(name, birth date) of heads of household from the batch benchmark's
    generator; the birth dates only ``with birth_dates``."""
    spec = importlib.util.spec_from_file_location(
        "write_path_run", HERE.parent / "write_path" / "run.py"
    )
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    data = module.households(count, seed=seed, birth_dates=birth_dates)
    rows = csv.DictReader(data.decode().splitlines())
    return [(row["name"], row.get("birth_date")) for row in rows]


@dataclass
class Quality:
    threshold: float
    precision: float
    recall: float
    f1: float
    false_negatives: list[tuple[str, str, str, float]]
    false_positives: list[tuple[str, str, str, float]]


def load_pairs() -> list[tuple[str, str, int, str]]:
    """``(a, b, label, category)``: the category says what kind of variant a
    true pair is (``negative`` for false pairs; see make_data.category)."""
    with (HERE / "pairs.csv").open(encoding="utf-8", newline="") as f:
        return [(r["a"], r["b"], int(r["label"]), r["category"]) for r in csv.DictReader(f)]


def recall_by_category(
    pairs: Sequence[tuple[str, str, int, str]], scores: Sequence[float], threshold: float
) -> dict[str, tuple[int, int]]:
    """Category -> (found, total) over the true pairs; ``matchable`` sums the
    categories a name matcher is expected to get (the recall target)."""
    out: dict[str, tuple[int, int]] = {}
    for (_, _, label, kind), score in zip(pairs, scores, strict=True):
        if not label:
            continue
        keys = [kind, "all"] + (["matchable"] if kind in MATCHABLE else [])
        for key in keys:
            found, total = out.get(key, (0, 0))
            out[key] = (found + (score >= threshold), total + 1)
    return out


_SCRIPTS = (
    ("Arabic", re.compile("[\u0600-\u06ff\u0750-\u077f]")),
    ("Cyrillic", re.compile("[\u0400-\u04ff]")),
    ("Hebrew", re.compile("[\u0590-\u05ff]")),
    ("Chinese/Japanese", re.compile("[\u3040-\u30ff\u4e00-\u9fff]")),
    ("Korean", re.compile("[\uac00-\ud7a3]")),
)


def recall_by_script(
    pairs: Sequence[tuple[str, str, int, str]], scores: Sequence[float], threshold: float
) -> dict[str, tuple[int, int]]:
    """The original-script pairs' recall by the script of their non-Latin side."""
    out: dict[str, tuple[int, int]] = {}
    for (a, b, label, kind), score in zip(pairs, scores, strict=True):
        if not label or kind != "original_script":
            continue
        script = next((n for n, pattern in _SCRIPTS if pattern.search(a + b)), "other")
        found, total = out.get(script, (0, 0))
        out[script] = (found + (score >= threshold), total + 1)
    return out


def quality(
    pairs: Sequence[tuple[str, str, int, str]], scores: Sequence[float], threshold: float
) -> Quality:
    tp = fp = fn = 0
    fns: list[tuple[str, str, str, float]] = []
    fps: list[tuple[str, str, str, float]] = []
    for (a, b, label, note), score in zip(pairs, scores, strict=True):
        hit = score >= threshold
        if hit and label:
            tp += 1
        elif hit:
            fp += 1
            fps.append((a, b, note, score))
        elif label:
            fn += 1
            fns.append((a, b, note, score))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Quality(threshold, precision, recall, f1, fns, fps)


def best_threshold(pairs: Sequence[tuple[str, str, int, str]], scores: Sequence[float]) -> Quality:
    candidates = [quality(pairs, scores, t / 100) for t in range(30, 100)]
    return max(candidates, key=lambda q: (q.f1, q.threshold))


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def timed(func: Callable[[str], bool], names: Sequence[str]) -> tuple[list[float], float, int]:
    """Per-name latencies (s), total seconds and how many names hit."""
    latencies: list[float] = []
    hits = 0
    start = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        hits += func(name)
        latencies.append(time.perf_counter() - t0)
    return latencies, time.perf_counter() - start, hits


def logic_v2_scores(pairs: Sequence[tuple[str, str, int, str]]) -> tuple[list[float], float] | str:
    """logic-v2 scores and seconds, or the reason it could not run."""
    candidates = [os.environ.get("NOMENKLATURA_PYTHON", ""), "/tmp/nkvenv/bin/python"]
    candidates.append(sys.executable)
    for python in filter(None, candidates):
        if not Path(python).exists():
            continue
        check = subprocess.run(
            [python, "-c", "import nomenklatura"], capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            continue
        run = subprocess.run(
            [python, "-W", "ignore", str(HERE / "logic_v2.py")],
            input=json.dumps([[a, b] for a, b, _, _ in pairs]),
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        if run.returncode != 0:
            return f"logic-v2 failed under {python}: {run.stderr.strip()[-300:]}"
        out = json.loads(run.stdout)
        return [float(s) for s in out["scores"]], float(out["seconds"])
    return (
        "nomenklatura is not installed (pip install nomenklatura into a throwaway venv"
        " and set NOMENKLATURA_PYTHON)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threshold", type=float, default=REVIEW_THRESHOLD)
    parser.add_argument("--show-errors", type=int, default=15, help="misclassified pairs to list")
    parser.add_argument("--no-logic-v2", action="store_true")
    args = parser.parse_args()
    threshold: float = args.threshold

    print(f"matcher version {MATCHER_VERSION}, review threshold {threshold}")
    t0 = time.perf_counter()
    lists = load_lists()
    entries = all_entries(lists)
    parse_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = NameIndex(enumerate(entries))
    index_s = time.perf_counter() - t0
    names_total = index.name_count
    sizes = ", ".join(f"{k} {len(v.entries)}" for k, v in lists.items())
    print(f"lists: {sizes}; {len(entries)} entries, {names_total} names")
    print(f"parse {parse_s:.2f} s, index build {index_s:.2f} s")

    pairs = load_pairs()
    unlisted = [
        n.strip()
        for n in (HERE / "unlisted_gaza_names.txt").read_text(encoding="utf-8").splitlines()
        if n.strip()
    ]
    positives = sum(p[2] for p in pairs)
    print(f"labelled pairs: {len(pairs)} ({positives} true, {len(pairs) - positives} false)")
    print(f"unlisted Gaza payee names: {len(unlisted)}")
    rows: list[tuple[str, str, str, str, str, str, str, str]] = []

    # ---- this matcher
    normalize_name.cache_clear()
    ours = [score_names(a, b) for a, b, _, _ in pairs]
    q = quality(pairs, ours, threshold)
    best = best_threshold(pairs, ours)
    print("\n== ledger.screening.score_names")
    print(f"precision {q.precision:.3f}  recall {q.recall:.3f}  F1 {q.f1:.3f} at {threshold}")
    print(f"best F1 {best.f1:.3f} at threshold {best.threshold:.2f}")
    print("sweep: " + "  ".join(
        f"{t:.2f}: P {s.precision:.3f} R {s.recall:.3f}"
        for t in (0.70, 0.75, 0.78, 0.80, 0.82, 0.85, 0.90)
        for s in [quality(pairs, ours, t)]
    ))  # fmt: skip
    by_kind = recall_by_category(pairs, ours, threshold)
    matchable_found, matchable_total = by_kind["matchable"]
    share = matchable_found / matchable_total
    print(f"recall on the matchable categories ({', '.join(MATCHABLE)}):"
          f" {share:.3f} ({matchable_found}/{matchable_total})")  # fmt: skip
    for kind, (found, total) in sorted(by_kind.items()):
        print(f"  {kind:32} {found:4}/{total:<4} recall {found / total:.3f}")
    for script, (found, total) in sorted(recall_by_script(pairs, ours, threshold).items()):
        print(f"  original script: {script:15} {found:4}/{total:<4} recall {found / total:.3f}")
    for label, items in (("missed", q.false_negatives), ("false alarm", q.false_positives)):
        for a, b, note, s in items[: args.show_errors]:
            print(f"  {label}: {s:.3f}  {a!r} ~ {b!r}  [{note}]")

    def cold() -> None:
        """Caches as a fresh process has them after building the index."""
        normalize_name.cache_clear()  # latency includes analysing each query name
        scoring.clear_caches()
        for entry_name in (n for e in entries for n in e.all_names):
            normalize_name(entry_name)  # the index's own names stay analysed

    cold()
    latencies, total, hits = timed(
        lambda n: bool(index.search([n], threshold=threshold, limit=1)), unlisted
    )
    fp_rate = hits / len(unlisted)
    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    rate = len(unlisted) / total
    print(f"unlisted names reaching the threshold: {hits}/{len(unlisted)} = {fp_rate:.1%}")
    print(f"search latency per name: p50 {p50:.2f} ms, p99 {p99:.2f} ms; bulk {rate:.0f} names/s")
    heads = household_names(2000, seed=4)
    held = sum(bool(index.search([n], threshold=threshold, limit=1)) for n in heads)
    print(f"heads of household (batch generator) reaching the threshold:"
          f" {held}/{len(heads)} = {held / len(heads):.1%}")  # fmt: skip
    persons = sum(
        bool(index.search([n], threshold=threshold, limit=1, kind="person")) for n in heads
    )
    print(f"the same heads screened as persons (as batch rows are) reaching the threshold:"
          f" {persons}/{len(heads)} = {persons / len(heads):.1%}")  # fmt: skip
    dated = household_heads(2000, seed=4, birth_dates=True)
    held_dated = sum(
        bool(index.search([n], threshold=threshold, limit=1, birth_date=born, kind="person"))
        for n, born in dated
    )
    print(f"the same heads as persons with their birth dates reaching the threshold:"
          f" {held_dated}/{len(dated)} = {held_dated / len(dated):.1%}")  # fmt: skip
    bulk_names = [Query((n,)) for n in household_names(10_000, seed=5)]
    cold()
    t0 = time.perf_counter()
    one_by_one = [index.search(q.names, threshold=threshold) for q in bulk_names]
    serial_rate = len(bulk_names) / (time.perf_counter() - t0)
    cold()
    workers = os.cpu_count() or 1
    t0 = time.perf_counter()
    together = index.search_many(bulk_names, workers=workers, threshold=threshold)
    parallel_rate = len(bulk_names) / (time.perf_counter() - t0)
    same = [[(h.entry_id, h.match) for h in x] for x in one_by_one] == [
        [(h.entry_id, h.match) for h in x] for x in together
    ]
    print(f"bulk, 10,000 household names: {serial_rate:.0f} names/s one process,"
          f" {parallel_rate:.0f} names/s search_many over {workers} processes"
          f" ({parallel_rate / serial_rate:.2f}x; same hits: {same})")  # fmt: skip
    rows.append(
        ("score_names + NameIndex", f"{threshold:.2f}", f"{q.precision:.3f}", f"{q.recall:.3f}",
         f"{q.f1:.3f}", f"{fp_rate:.1%}", f"{p50:.2f} / {p99:.2f}",
         f"{rate:.0f}; {parallel_rate:.0f} in {workers} proc")
    )  # fmt: skip

    # ---- naive baseline: token_sort_ratio against every name
    naive = [
        fuzz.token_sort_ratio(a, b, processor=utils.default_process) / 100 for a, b, *_ in pairs
    ]
    nb = best_threshold(pairs, naive)
    all_names = [utils.default_process(n) for e in entries for n in e.all_names]
    cutoff = nb.threshold * 100

    def naive_search(name: str) -> bool:
        found = process.extractOne(
            utils.default_process(name), all_names, scorer=fuzz.token_sort_ratio,
            processor=None, score_cutoff=cutoff,
        )  # fmt: skip
        return found is not None

    n_lat, n_total, n_hits = timed(naive_search, unlisted)
    n_fp = n_hits / len(unlisted)
    n50, n99 = percentile(n_lat, 50) * 1000, percentile(n_lat, 99) * 1000
    n_rate = len(unlisted) / n_total
    print("\n== naive baseline: rapidfuzz token_sort_ratio over every name")
    print(f"precision {nb.precision:.3f}  recall {nb.recall:.3f}  F1 {nb.f1:.3f}"
          f" at its best threshold {nb.threshold:.2f}")  # fmt: skip
    at_ours = quality(pairs, naive, threshold)
    print(f"at {threshold}: precision {at_ours.precision:.3f} recall {at_ours.recall:.3f}")
    print(f"unlisted names reaching its threshold: {n_hits}/{len(unlisted)} = {n_fp:.1%}")
    print(f"latency per name: p50 {n50:.2f} ms, p99 {n99:.2f} ms; bulk {n_rate:.0f} names/s")
    rows.append(
        ("naive token_sort_ratio", f"{nb.threshold:.2f}", f"{nb.precision:.3f}",
         f"{nb.recall:.3f}", f"{nb.f1:.3f}", f"{n_fp:.1%}", f"{n50:.2f} / {n99:.2f}",
         f"{n_rate:.0f}")
    )  # fmt: skip

    # ---- OpenSanctions logic-v2
    print("\n== OpenSanctions logic-v2 (nomenklatura)")
    result = "skipped (--no-logic-v2)" if args.no_logic_v2 else logic_v2_scores(pairs)
    if isinstance(result, str):
        print(result)
        rows.append(("logic-v2", "-", "-", "-", "-", "-", "-", result[:40]))
    else:
        scores, seconds = result
        lq = quality(pairs, scores, 0.7)  # yente's default match threshold
        lb = best_threshold(pairs, scores)
        per_pair = seconds / len(pairs) * 1000
        print(f"precision {lq.precision:.3f}  recall {lq.recall:.3f}  F1 {lq.f1:.3f}"
              " at 0.70 (yente's default)")  # fmt: skip
        print(f"best F1 {lb.f1:.3f} at {lb.threshold:.2f}"
              f" (precision {lb.precision:.3f}, recall {lb.recall:.3f})")  # fmt: skip
        print(f"{per_pair:.2f} ms per pair scored (no retrieval: yente uses Elasticsearch"
              " for candidates, so no per-name figure against the lists)")  # fmt: skip
        theirs = recall_by_category(pairs, scores, 0.7)
        print(f"recall by category, ours at {threshold} beside logic-v2 at 0.70:")
        for kind, (found, total) in sorted(by_kind.items()):
            other = theirs.get(kind, (0, total))[0]
            print(f"  {kind:32} {found / total:.3f}  logic-v2 {other / total:.3f}  ({total} pairs)")
        ours_by_script = recall_by_script(pairs, ours, threshold)
        for script, (other, total) in sorted(recall_by_script(pairs, scores, 0.7).items()):
            found = ours_by_script[script][0]
            print(f"  original script: {script:15} {found / total:.3f}  logic-v2"
                  f" {other / total:.3f}  ({total} pairs)")  # fmt: skip
        rows.append(
            ("logic-v2 (pairs only)", f"{lb.threshold:.2f}", f"{lb.precision:.3f}",
             f"{lb.recall:.3f}", f"{lb.f1:.3f}", "-", f"{per_pair:.2f}/pair", "-")
        )  # fmt: skip

    header = ("method", "thresh", "precision", "recall", "F1", "unlisted hit",
              "p50 / p99 ms", "names/s")  # fmt: skip
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print("\n" + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print(f"(median of {statistics.median(latencies) * 1000:.2f} ms; {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
