"""The Python benchmark: runtime-identity and its peers on the shared scenario, in one run.

    python bench/python/run.py [--quick] [--json OUT] [--md OUT] [--sections scenario policies depth]

Every path is verified on the scenario's 10 requests before it is timed (the peers' harness,
``peers/harness.py``). Ours: the bare function (baseline), the raw ``rt.check``, and a
``@guard``-ed call inside ``acting_as`` with ``buffered`` and with ``sync`` audit (a folder
runtime on local disk). Reports per request the medians and, for the guarded call, its speed
relative to each peer (peer time / our time: above 1 means we are faster).

Two more sections (``scaling.py``), on by default and in the JSON output: ``policies`` (R1
with 0 / 1,000 / 10,000 extra policies on other actions, ours next to cedarpy) and ``depth``
(R1 guarded and raw with a 1-, 2- and 3-link credential). ``--sections scenario`` runs only
the scenario comparison.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Sequence
from pathlib import Path as FsPath
from typing import Any, Literal

sys.path.insert(0, str(FsPath(__file__).resolve().parent))

import ours  # noqa: E402
import scaling  # noqa: E402
from peers.harness import Path, Row, as_json, fmt_ns, results_table, time_request, verify  # noqa: E402
from peers.run_peers import FULL, QUICK, all_paths, host, run_path, versions  # noqa: E402
from peers.scenario import CEDAR_POLICIES, load_scenario  # noqa: E402

LIBRARY = "runtime-identity"
SECTIONS = ("scenario", "policies", "depth")
#: Distributions whose installed versions are reported (ours and the peers').
PACKAGES = ("runtime-identity", "cedarpy", "casbin", "simpleeval", "biscuit-python", "PyJWT", "cryptography")


def our_paths() -> list[Path[Any]]:
    def built(durability: Literal["sync", "buffered"]) -> Any:
        return lambda s: ours.build(dict(s), durability)

    return [
        Path("rt.check, cached credential, buffered audit", LIBRARY, built("buffered"), ours.decide, ours.raw_check),
        Path("@guard call in acting_as, buffered audit", LIBRARY, built("buffered"), ours.decide, ours.guarded_call),
        Path("@guard call in acting_as, sync audit (fsync per call)", LIBRARY, built("sync"), ours.decide, ours.guarded_call),
    ]


def baseline(scenario: dict[str, Any], timing: dict[str, Any]) -> Row:
    timings = {r["id"]: time_request(ours.bare_call(r), **timing) for r in scenario["requests"] if r.get("timed")}
    return Row("python", "bare function (baseline)", timings, verify_only=True)


def ratios(ours_row: Row, peers: Sequence[Row]) -> str:
    rids = ["R1", "R2", "R3", "R4"]
    lines = ["| Peer | " + " | ".join(rids) + " |", "|---|" + "---:|" * len(rids)]
    for p in peers:
        cells = [f"{p.timings[r]['median_ns'] / ours_row.timings[r]['median_ns']:.2f}×" for r in rids]
        lines.append(f"| {p.library}: {p.path}{' †' if p.verify_only else ''} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=FsPath)
    ap.add_argument("--md", type=FsPath)
    ap.add_argument(
        "--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="default: all (%(default)s)"
    )
    args = ap.parse_args(argv)
    scenario = load_scenario()
    timing = QUICK if args.quick else FULL
    out = [f"## Python: ns per decision ({'quick' if args.quick else 'full'} run)", ""]
    doc: dict[str, Any] = {"timing": timing, "quick": args.quick, "host": host(), "versions": versions(PACKAGES)}
    if "scenario" in args.sections:
        rows: list[Row] = [baseline(scenario, timing)]
        for path in our_paths() + all_paths(CEDAR_POLICIES):
            bound = path.bind(scenario)
            print(verify(bound, scenario["requests"]).summary(), file=sys.stderr, flush=True)
            gc.collect()
            rows.append(Row(path.library, path.name, run_path(bound, scenario, timing), path.verify_only))
        guarded = rows[2]
        peers = [r for r in rows if r.library not in (LIBRARY, "python")]
        overhead = {r: guarded.timings[r]["median_ns"] - rows[0].timings[r]["median_ns"] for r in guarded.timings}
        out += [
            results_table(rows),
            "",
            "Guarded-call overhead over the bare function (buffered audit): "
            + ", ".join(f"{r} {fmt_ns(v)} ns" for r, v in overhead.items()),
            "",
            "### Peer time / our guarded call (buffered), per request",
            "",
            ratios(guarded, peers),
        ]
        doc["results"] = as_json(rows)
    if "policies" in args.sections:
        doc["policy_scaling"] = scaling.policy_scaling(scenario, timing)
        out += ["", scaling.policy_table(doc["policy_scaling"])]
    if "depth" in args.sections:
        doc["chain_depth"] = scaling.chain_depth(scenario, timing)
        out += ["", scaling.depth_table(doc["chain_depth"])]
    out += ["", "Versions: " + "; ".join(f"{k} {v}" for k, v in doc["versions"].items())]
    text = "\n".join(out)
    print(text)
    if args.md:
        args.md.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
