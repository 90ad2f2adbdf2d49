"""The optional sections of ``run.py``: how the cost of a decision grows with the number of
policies (ours next to cedarpy) and with the length of the delegation chain (ours).

- ``policies``: request R1 with 0, 1,000 and 10,000 extra policies on other actions loaded next
  to the scenario's rules: cedarpy (the 20 rules of ``cedar.cedar`` plus the extra ones, one
  pre-parsed ``PolicySet``) and ours (F01 plus the extra ones in the runtime; the raw
  ``rt.check`` and the ``@guard`` call, buffered audit).
- ``depth``: request R1 as a ``@guard`` call in ``acting_as`` (buffered audit) and as a raw
  ``rt.check``, with support-bot's 1-link credential and with it attenuated (same scopes) to a
  2- and a 3-link chain; the overhead is the time over the bare function.

Every path of both sections first answers the scenario's ten requests as expected (with the
extra policies, or with the deeper credential standing for support-bot's), or it is not timed;
each timed closure is re-checked after timing, as the scenario paths are.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Sequence
from typing import Any

import ours
from peers import cedarpy_path
from peers.harness import Bound, Path, Timing, recheck, time_request, verify
from peers.run_peers import RECHECKS
from peers.scenario import CEDAR_POLICIES

LIBRARY = "runtime-identity"
POLICY_COUNTS = (0, 1_000, 10_000)
DEPTHS = (1, 2, 3)
REQUEST = "R1"


def unrelated_policies(n: int, args: str) -> str:
    """``n`` permits on other actions, each with a condition on an argument the scenario's
    requests never carry (``args`` is where the arguments are: ``context.args`` in our
    conventions, ``context`` in the peers' Cedar). The same shape as ``core/benches/check.rs``."""
    return "".join(
        f'@id("X{i}")\npermit (principal, action == Action::"other{i}.run", resource) '
        f"when {{ {args} has n && {args}.n <= {i} }};\n"
        for i in range(n)
    )


def _request(scenario: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in scenario["requests"] if r["id"] == REQUEST)


def _timed(bound: Bound[Any], scenario: dict[str, Any], timing: dict[str, Any]) -> tuple[str, Timing]:
    """Verify ``bound`` on all ten requests, then time R1 (re-checked before and after)."""
    check = verify(bound, scenario["requests"])
    print(check.summary(), file=sys.stderr, flush=True)
    req = _request(scenario)
    fn = bound.call(req)
    recheck(bound.name, req, fn, times=1)
    gc.collect()
    t = time_request(fn, **timing)
    recheck(bound.name, req, fn, times=RECHECKS)
    return check.summary(), t


def _record(path: Path[Any], series: str, summary: str, timing: Timing, **extra: Any) -> dict[str, Any]:
    return {"library": path.library, "path": path.name, "series": series, **extra, "verification": summary, "timing": timing}


def policy_scaling(scenario: dict[str, Any], timing: dict[str, Any], counts: Sequence[int] = POLICY_COUNTS) -> dict[str, Any]:
    """R1 with ``counts`` extra policies: cedarpy, our raw check, our guarded call."""
    results: list[dict[str, Any]] = []
    for extra in counts:
        label = f"+{extra:,} policies on other actions"
        ours_state = ours.build(dict(scenario), "buffered", extra_policies=unrelated_policies(extra, "context.args"))
        ours_paths: list[tuple[str, Path[Any]]] = [
            ("ours rt.check", Path(f"rt.check, cached credential, buffered audit, {label}", LIBRARY, lambda s, st=ours_state: st, ours.decide, ours.raw_check)),
            ("ours @guard", Path(f"@guard call in acting_as, buffered audit, {label}", LIBRARY, lambda s, st=ours_state: st, ours.decide, ours.guarded_call)),
        ]
        for series, path in ours_paths:
            summary, t = _timed(Bound(path, ours_state), scenario, timing)
            results.append(_record(path, series, summary, t, extra_policies=extra))
        cedar = cedarpy_path.make_path(CEDAR_POLICIES, unrelated_policies(extra, "context"), label)
        summary, t = _timed(cedar.bind(scenario), scenario, timing)
        results.append(_record(cedar, "cedarpy", summary, t, extra_policies=extra))
    return {"request": REQUEST, "counts": list(counts), "results": results}


def chain_depth(scenario: dict[str, Any], timing: dict[str, Any], depths: Sequence[int] = DEPTHS) -> dict[str, Any]:
    """R1 with a 1-, 2- and 3-link credential: guarded call and raw check, and the bare call."""
    req = _request(scenario)
    gc.collect()
    base = time_request(ours.bare_call(req), **timing)
    results: list[dict[str, Any]] = []
    for links in depths:
        state = ours.deepen(ours.build(dict(scenario), "buffered"), links)
        kinds: list[tuple[str, str, Callable[..., Any]]] = [
            ("ours @guard", "@guard call in acting_as, buffered audit", ours.guarded_call),
            ("ours rt.check", "rt.check, cached credential, buffered audit", ours.raw_check),
        ]
        for series, name, call in kinds:
            path = Path(f"{name}, {links}-link credential", LIBRARY, lambda s, st=state: st, ours.decide, call)
            summary, t = _timed(Bound(path, state), scenario, timing)
            results.append(
                _record(path, series, summary, t, links=links, overhead_ns=t["median_ns"] - base["median_ns"])
            )
    return {"request": REQUEST, "depths": list(depths), "baseline": base, "results": results}


def _fmt(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:,.2f} ms"
    return f"{ns / 1000:,.1f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def policy_table(doc: dict[str, Any]) -> str:
    series = list(dict.fromkeys(r["series"] for r in doc["results"]))
    lines = [
        f"### {doc['request']} with extra policies on other actions: median (min–max), ratio to 0 extra",
        "",
        "| extra policies | " + " | ".join(series) + " |",
        "|---:|" + "---:|" * len(series),
    ]
    for extra in doc["counts"]:
        cells = []
        for s in series:
            r = next((x for x in doc["results"] if x["series"] == s and x["extra_policies"] == extra), None)
            r0 = next((x for x in doc["results"] if x["series"] == s and x["extra_policies"] == 0), None)
            if r is None:
                cells.append("–")
                continue
            t = r["timing"]
            ratio = f", {t['median_ns'] / r0['timing']['median_ns']:.2f}×" if r0 else ""
            cells.append(f"{_fmt(t['median_ns'])} ({_fmt(t['min_ns'])}–{_fmt(t['max_ns'])}){ratio}")
        lines.append(f"| {extra:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def depth_table(doc: dict[str, Any]) -> str:
    base = doc["baseline"]["median_ns"]
    lines = [
        f"### {doc['request']} by chain length: median (min–max); overhead over the bare function ({_fmt(base)})",
        "",
        "| links | series | median | min–max | overhead |",
        "|---:|---|---:|---:|---:|",
    ]
    for r in doc["results"]:
        t = r["timing"]
        lines.append(
            f"| {r['links']} | {r['series']} | {_fmt(t['median_ns'])} | {_fmt(t['min_ns'])}–{_fmt(t['max_ns'])} | {_fmt(r['overhead_ns'])} |"
        )
    return "\n".join(lines)
