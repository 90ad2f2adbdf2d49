"""The bars of the performance issue, each with the figure measured in this run and whether
it is met (unknown when its input is missing)."""

from __future__ import annotations

from typing import Any

from .inputs import (
    ALGS,
    CHECK_IDS,
    IDS,
    Bench,
    bench_stat,
    fastest_peer,
    first_verify_id,
    lang_rows,
    median_ratio,
    our_guard,
    policy_points,
    rate,
    timing_of,
)
from .markdown import NOT_MEASURED, fmt_bytes, fmt_rate, fmt_ratio, fmt_time, table, verdict

BAR_PEER_RATIO = 10.0
BAR_POLICIES_1K = 2.0
BAR_POLICIES_10K = 3.0
BAR_FIRST_VERIFY_SLACK_NS = 20_000.0
BAR_BUFFERED_EVENTS = 200_000.0
BAR_SYNC_SCALING = 8.0
BAR_BYTES = 1024.0

#: What each kind of criterion verification benchmark measures.
KIND_LABEL = {"first": "through the runtime, chain cache cleared", "cold": "bare `verify_chain`, no runtime"}


def bars_section(py: Any, node: Any, benches: dict[str, Bench], mem: Any) -> str:
    rows: list[list[str]] = []

    def add(bar: str, measured: str, met: bool | None) -> None:
        rows.append([bar, measured, verdict(met)])

    for name, doc in (("Python", py), ("Node", node)):
        lr = lang_rows(doc)
        guard = our_guard(lr)
        parts: list[str] = []
        ratios: list[float] = []
        for rid in IDS:
            best = fastest_peer(lr, rid)
            g = median_ratio(timing_of(best, rid), timing_of(guard, rid))
            if g is None or best is None:
                parts.append(f"{rid} {NOT_MEASURED}")
            else:
                ratios.append(g)
                parts.append(f"{rid} {fmt_ratio(g)} ({best.library})")
        met = None if len(ratios) < len(IDS) else all(x >= BAR_PEER_RATIO for x in ratios)
        quick = " — quick run" if (doc or {}).get("quick") else ""
        add(
            f"{name} guarded call (buffered audit) ≥ {BAR_PEER_RATIO:g}× faster than the fastest deciding peer, per request",
            (", ".join(parts) + quick) if ratios else NOT_MEASURED,
            met,
        )

    base = bench_stat(benches, CHECK_IDS[0])
    for extra, limit in ((1_000, BAR_POLICIES_1K), (10_000, BAR_POLICIES_10K)):
        s = bench_stat(benches, CHECK_IDS[extra])
        r = median_ratio(s, base)
        measured = (
            f"{fmt_ratio(r)} ({fmt_time(s.median)} vs {fmt_time(base.median)}, Rust check R1)"
            if r is not None and s is not None and base is not None
            else NOT_MEASURED
        )
        add(f"+{extra:,} policies on other actions ≤ {limit:g}× the scenario's time (check R1)", measured, None if r is None else r <= limit)
    pts = policy_points(py).get("ours rt.check", {})
    for extra, limit in ((1_000, BAR_POLICIES_1K), (10_000, BAR_POLICIES_10K)):
        r = median_ratio(pts.get(extra), pts.get(0))
        add(f"the same, from Python (`rt.check`, +{extra:,})", NOT_MEASURED if r is None else fmt_ratio(r), None if r is None else r <= limit)

    for alg in ALGS:
        found = first_verify_id(benches, alg, 2)
        sig = bench_stat(benches, f"signature/{alg}")
        if not found or sig is None:
            add(f"first verification of a 2-link {alg} chain ≤ 2 signatures + 20 µs", NOT_MEASURED, None)
            continue
        fid, kind = found
        s = benches[fid].stat
        limit = 2 * sig.median + BAR_FIRST_VERIFY_SLACK_NS
        add(
            f"first verification of a 2-link {alg} chain ≤ 2 signatures + 20 µs",
            f"{fmt_time(s.median)} ({KIND_LABEL[kind]}) vs 2 × {fmt_time(sig.median)} + 20 µs = {fmt_time(limit)}; "
            f"overhead {fmt_time(s.median - 2 * sig.median)}",
            s.median <= limit,
        )

    one = rate(benches.get("audit append/buffered/1 writers"))
    add(
        f"buffered audit ≥ {BAR_BUFFERED_EVENTS:,.0f} events/s from one writer",
        NOT_MEASURED if one is None else f"{fmt_rate(one[0])} events/s",
        None if one is None else one[0] >= BAR_BUFFERED_EVENTS,
    )
    s1, s16 = rate(benches.get("audit append/sync/1 writers")), rate(benches.get("audit append/sync/16 writers"))
    if s1 is None or s16 is None:
        add(f"sync audit, 16 writers ≥ {BAR_SYNC_SCALING:g}× one writer", NOT_MEASURED, None)
    else:
        scaling = s16[0] / s1[0]
        add(
            f"sync audit, 16 writers ≥ {BAR_SYNC_SCALING:g}× one writer",
            f"{fmt_ratio(scaling)} ({fmt_rate(s16[0])} vs {fmt_rate(s1[0])} events/s)",
            scaling >= BAR_SYNC_SCALING,
        )

    for what, key in (("registered agent", "per_agent"), ("cached chain", "per_cached_chain")):
        for store in ("in_memory", "folder"):
            m = ((mem or {}).get(key) or {}).get(store)
            b = m.get("bytes_per_item") if m else None
            note = ""
            if m and m.get("reopened"):
                note = f" (folder reopened: {fmt_bytes(m['reopened'].get('bytes_per_item'))})"
            add(
                f"memory ≤ 1 KiB per {what} (`{store}` runtime)",
                (fmt_bytes(b) + note) if b is not None else NOT_MEASURED,
                None if b is None else b <= BAR_BYTES,
            )

    met_count = sum(row[2] == "**met**" for row in rows)
    unknown = sum(row[2] == "unknown" for row in rows)
    return "\n".join(
        [
            "## Bars",
            "",
            f"The performance issue's bars, each with the figure measured in this run: {met_count} of {len(rows)} met"
            + (f", {unknown} unknown (not measured)" if unknown else "")
            + ".",
            "",
            table(["bar", "measured", "verdict"], rows, "llr"),
            "",
            "A deciding peer makes the scenario's authorization decision (verify-only paths such as "
            "PyJWT and jose alone are left out of \"fastest\"). A bar measured in a quick run is "
            "indicative only.",
        ]
    )
