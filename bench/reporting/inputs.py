"""Reading the inputs of the report: criterion's result folders and the JSON written by the
Python, Node and memory benchmarks, as medians with their range."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
IDS = ("R1", "R2", "R3", "R4")
ALGS = ("ES256", "EdDSA")
#: The criterion ids of `check` R1 by number of extra policies.
CHECK_IDS = {0: "check/R1/0 extra policies", 1_000: "check/R1/1000 extra policies", 10_000: "check/R1/10000 extra policies"}


@dataclass(frozen=True)
class Stat:
    """A time per operation in ns: the median and the range over samples or repetitions."""

    median: float
    lo: float
    hi: float
    samples: int = 0


@dataclass(frozen=True)
class Bench:
    """One criterion benchmark: its id, time per iteration, and elements per iteration."""

    full_id: str
    stat: Stat
    elements: int | None


def read_json(path: Path | None) -> Any:
    if path is None or not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        print(f"report: cannot read {path}: {e}", file=sys.stderr)
        return None


def criterion_dirs() -> list[Path]:
    triple = os.environ.get("CARGO_BUILD_TARGET", "")
    dirs = [ROOT / "target" / "criterion"]
    if triple:
        dirs.append(ROOT / "target" / triple / "criterion")
    dirs += sorted((ROOT / "target").glob("*/criterion"))
    return [d for d in dict.fromkeys(dirs) if d.is_dir()]


def newest_mtime(paths: Iterable[Path]) -> float:
    return max((p.stat().st_mtime for p in paths), default=0.0)


def default_criterion_dir() -> Path | None:
    """The criterion folder with the most recent results."""
    found = [(newest_mtime(d.glob("**/new/estimates.json")), d) for d in criterion_dirs()]
    found = [f for f in found if f[0] > 0]
    return max(found)[1] if found else None


def load_criterion(root: Path | None) -> dict[str, Bench]:
    """Every benchmark under ``root`` by its full id (``verify/ES256/cold/2``)."""
    out: dict[str, Bench] = {}
    if root is None:
        return out
    for new in root.glob("**/new"):
        meta, est, sample = (read_json(new / f) for f in ("benchmark.json", "estimates.json", "sample.json"))
        if not meta or not est:
            continue
        per_iter = [t / i for t, i in zip(sample["times"], sample["iters"], strict=False)] if sample else []
        median = est["median"]["point_estimate"]
        stat = Stat(median, min(per_iter, default=median), max(per_iter, default=median), len(per_iter))
        elements = (meta.get("throughput") or {}).get("Elements")
        out[meta["full_id"]] = Bench(meta["full_id"], stat, elements)
    return out


def bench_stat(benches: dict[str, Bench], full_id: str) -> Stat | None:
    b = benches.get(full_id)
    return b.stat if b else None


def rate(b: Bench | None) -> tuple[float, float, float] | None:
    """Elements per second: median, and the slowest–fastest sample."""
    if b is None or not b.elements:
        return None
    e = b.elements
    return e / b.stat.median * 1e9, e / b.stat.hi * 1e9, e / b.stat.lo * 1e9


def first_verify_id(benches: dict[str, Bench], alg: str, links: int) -> tuple[str, str] | None:
    """The benchmark standing for a first verification: the runtime's `first` (cache cleared)
    when the suite has it, else the bare `cold` chain verification."""
    for kind in ("first", "cold"):
        fid = f"verify/{alg}/{kind}/{links}"
        if fid in benches:
            return fid, kind
    return None


def timing_stat(t: dict[str, Any] | None) -> Stat | None:
    """A harness timing (Python ``median_ns`` or Node ``medianNs``) as a :class:`Stat`."""
    if not t:
        return None

    def get(snake: str, camel: str) -> float:
        return float(t[snake] if snake in t else t[camel])

    return Stat(get("median_ns", "medianNs"), get("min_ns", "minNs"), get("max_ns", "maxNs"), int(t.get("n", 0)))


@dataclass(frozen=True)
class LangRow:
    library: str
    path: str
    verify_only: bool
    timings: dict[str, Stat]

    @property
    def label(self) -> str:
        return f"{self.library}: {self.path}" + (" †" if self.verify_only else "")


def lang_rows(doc: Any) -> list[LangRow]:
    rows = []
    for r in (doc or {}).get("results", []) or []:
        timings = {k: s for k, v in (r.get("timings") or {}).items() if (s := timing_stat(v))}
        rows.append(LangRow(r["library"], r["path"], bool(r.get("verify_only", r.get("verifyOnly"))), timings))
    return rows


def find_row(rows: Sequence[LangRow], pred: Callable[[LangRow], bool]) -> LangRow | None:
    return next((r for r in rows if pred(r)), None)


def is_ours(r: LangRow) -> bool:
    return r.library == "runtime-identity"


def our_guard(rows: Sequence[LangRow]) -> LangRow | None:
    return find_row(rows, lambda r: is_ours(r) and "guard" in r.path and "buffered" in r.path)


def our_check(rows: Sequence[LangRow]) -> LangRow | None:
    return find_row(rows, lambda r: is_ours(r) and r.path.startswith("rt.check"))


def peers_of(rows: Sequence[LangRow]) -> list[LangRow]:
    return [r for r in rows if not is_ours(r) and r.library not in ("python", "node")]


def fastest_peer(rows: Sequence[LangRow], rid: str) -> LangRow | None:
    deciders = [p for p in peers_of(rows) if not p.verify_only and rid in p.timings]
    return min(deciders, key=lambda p: p.timings[rid].median, default=None)


def policy_points(py: Any) -> dict[str, dict[int, Stat]]:
    """Series name → extra policies → timing, from the Python JSON's ``policy_scaling``."""
    out: dict[str, dict[int, Stat]] = {}
    for r in ((py or {}).get("policy_scaling") or {}).get("results", []):
        s = timing_stat(r.get("timing"))
        if s:
            out.setdefault(r["series"], {})[int(r["extra_policies"])] = s
    return out


def depth_points(doc: Any, key: str) -> tuple[Stat | None, dict[str, dict[int, tuple[Stat, float]]]]:
    sec = (doc or {}).get(key) or {}
    out: dict[str, dict[int, tuple[Stat, float]]] = {}
    for r in sec.get("results", []):
        s = timing_stat(r.get("timing"))
        over = r.get("overhead_ns", r.get("overheadNs"))
        if s is not None and over is not None:
            out.setdefault(r["series"], {})[int(r["links"])] = (s, float(over))
    return timing_stat(sec.get("baseline")), out


def median_ratio(a: Stat | None, b: Stat | None) -> float | None:
    """a / b of two medians, None when either is missing."""
    return None if a is None or b is None else safe_div(a.median, b.median)


def timing_of(row: LangRow | None, rid: str) -> Stat | None:
    return row.timings.get(rid) if row is not None else None


def safe_div(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b
