"""Verify and time every peer path on the shared scenario.

    python bench/python/peers/run_peers.py [--quick] [--json OUT] [--only LIBRARY ...]

Each path is prepared, then verified on all 10 scenario requests (a wrong path is never timed;
a verify-only path is reported as such), then each timed request (R1–R4) is timed with
:func:`peers.harness.time_request` and its timed closure re-checked 200 more times. Prints a
Markdown table and, with ``--json``, writes the results, versions and host facts.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path as FsPath
from typing import Any

if __package__ in (None, ""):  # run as a script: make the ``peers`` package importable
    sys.path.insert(0, str(FsPath(__file__).resolve().parent.parent))

from peers import biscuit_path, casbin_path, cedarpy_path, pyjwt_path  # noqa: E402
from peers.harness import Bound, Path, Row, Timing, as_json, recheck, results_table, time_request, verify  # noqa: E402
from peers.scenario import CEDAR_POLICIES, SCENARIO, load_scenario, timed_requests  # noqa: E402

FULL = {"warmup_s": 0.2, "target_s": 0.5, "reps": 5}
QUICK = {"warmup_s": 0.02, "target_s": 0.02, "reps": 3}
RECHECKS = 200


def all_paths(cedar: FsPath) -> list[Path[Any]]:
    return [cedarpy_path.make_path(cedar), casbin_path.PATH, biscuit_path.PATH, pyjwt_path.PATH]


def versions(packages: Sequence[str]) -> dict[str, str]:
    out = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def host() -> dict[str, Any]:
    try:
        lines = FsPath("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
    }


def run_path(bound: Bound[Any], scenario: dict[str, Any], timing: dict[str, Any]) -> dict[str, Timing]:
    timings: dict[str, Timing] = {}
    for request in timed_requests(scenario):
        fn = bound.call(request)
        if not bound.verify_only:
            recheck(bound.name, request, fn, times=1)
        gc.collect()
        timings[request["id"]] = time_request(fn, **timing)
        if not bound.verify_only:
            recheck(bound.name, request, fn, times=RECHECKS)
    return timings


def _load(xs: Sequence[float]) -> str:
    return "/".join(f"{x:.2f}" for x in xs)


def report(rows: Sequence[Row], records: Sequence[dict[str, Any]], timing: dict[str, Any], quick: bool) -> str:
    """The Markdown table, then verification, versions and host load per path."""
    out = [f"## Peers: ns per decision ({'quick' if quick else 'full'} run: {timing})", "", results_table(rows), ""]
    out += ["Verification:"] + [f"- {r['verification']}" for r in records] + [""]
    pkgs = "; ".join(f"{name} {v}" for r in records for name, v in r["versions"].items())
    out.append(f"Versions: python {platform.python_version()}; {pkgs}")
    out.append(
        "Load average (1/5/15 min) before → after each path, waited s: "
        + "; ".join(
            f"{r['library']} {_load(r['load_before'])} → {_load(r['load_after'])}, {r['waited_s']}" for r in records
        )
    )
    return "\n".join(out)


def wait_for_load(max_load: float | None, limit_s: float = 300.0) -> float:
    """Wait (at most ``limit_s``) until the 1-minute load average is below ``max_load``."""
    t0 = time.monotonic()
    while max_load is not None and os.getloadavg()[0] >= max_load and time.monotonic() - t0 < limit_s:
        time.sleep(5)
    return round(time.monotonic() - t0, 1)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=FsPath, metavar="OUT", help="write the results as JSON to OUT")
    ap.add_argument("--quick", action="store_true", help="short timings, for a smoke test")
    ap.add_argument("--only", nargs="+", metavar="LIBRARY", help="run only these libraries (e.g. cedarpy pycasbin)")
    ap.add_argument(
        "--max-load",
        type=float,
        metavar="LOAD",
        help="before each path wait (up to 300 s) until the 1-minute load average is below LOAD",
    )
    ap.add_argument("--scenario", type=FsPath, default=SCENARIO, help=f"default: {SCENARIO}")
    ap.add_argument("--cedar", type=FsPath, default=CEDAR_POLICIES, help=f"default: {CEDAR_POLICIES}")
    args = ap.parse_args(argv)

    scenario = load_scenario(args.scenario)
    timing = QUICK if args.quick else FULL
    paths = [p for p in all_paths(args.cedar) if not args.only or p.library in args.only]
    if not paths:
        ap.error(f"--only matched no library (have: {', '.join(p.library for p in all_paths(args.cedar))})")

    rows: list[Row] = []
    records: list[dict[str, Any]] = []
    for path in paths:
        waited = wait_for_load(args.max_load)
        load_before = os.getloadavg()
        t0 = time.monotonic()
        bound = path.bind(scenario)
        check = verify(bound, scenario["requests"])
        print(check.summary(), file=sys.stderr, flush=True)
        row = Row(path.library, path.name, run_path(bound, scenario, timing), path.verify_only)
        rows.append(row)
        records.append(
            {
                **as_json([row])[0],
                "note": path.note,
                "verification": check.summary(),
                "versions": versions(path.packages),
                "waited_s": waited,
                "load_before": load_before,
                "load_after": os.getloadavg(),
                "wall_s": round(time.monotonic() - t0, 2),
            }
        )

    print(report(rows, records, timing, args.quick))
    if args.json:
        doc = {
            "scenario": str(args.scenario),
            "cedar_policies": str(args.cedar),
            "timing": timing,
            "quick": args.quick,
            "host": host(),
            "results": records,
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"\nJSON written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
