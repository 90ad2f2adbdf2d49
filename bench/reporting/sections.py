"""The descriptive sections of the report: machine and versions, method, ours next to the
peers, the Rust tables, the policy and chain-depth scalings, memory."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .bars import BAR_BYTES
from .inputs import (
    ALGS,
    CHECK_IDS,
    IDS,
    Bench,
    bench_stat,
    depth_points,
    fastest_peer,
    lang_rows,
    newest_mtime,
    our_check,
    our_guard,
    peers_of,
    policy_points,
    rate,
    safe_div,
)
from .markdown import NOT_MEASURED, code, fmt_bytes, fmt_rate_range, fmt_ratio, fmt_stat, fmt_time, mtime, table


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def command_version(cmd: Sequence[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=True).stdout.strip()
        return out.splitlines()[0] if out else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "not found"


def machine_section(inputs: dict[str, Path | None], py: Any, node: Any, crit_root: Path | None) -> str:
    pyv = (py or {}).get("versions", {})
    nodev = (node or {}).get("versions", {})
    host_py = (py or {}).get("host", {})
    host_node = (node or {}).get("host", {})
    cores = os.cpu_count()
    rows = [
        ("CPU", cpu_model()),
        ("cores (logical CPUs)", str(cores)),
        ("kernel", platform.release()),
        ("rustc", command_version(["rustc", "--version"])),
        ("python", host_py.get("python", NOT_MEASURED) + (f" ({host_py['implementation']})" if host_py.get("implementation") else "")),
        ("node", host_node.get("node", nodev.get("node", NOT_MEASURED))),
        ("runtime-identity", pyv.get("runtime-identity", nodev.get("runtime-identity", NOT_MEASURED))),
        ("cedarpy", pyv.get("cedarpy", NOT_MEASURED)),
        ("pycasbin (`casbin` on PyPI)", pyv.get("casbin", NOT_MEASURED)),
        ("biscuit-python", pyv.get("biscuit-python", NOT_MEASURED)),
        ("PyJWT", pyv.get("PyJWT", NOT_MEASURED)),
        ("node-casbin (`casbin` on npm)", nodev.get("casbin", NOT_MEASURED)),
        ("@cedar-policy/cedar-wasm", nodev.get("@cedar-policy/cedar-wasm", NOT_MEASURED)),
        ("jose", nodev.get("jose", NOT_MEASURED)),
    ]
    crit_files = list(crit_root.glob("**/new/estimates.json")) if crit_root else []

    def stamp(t: float) -> str:
        return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M")

    crit_when = NOT_MEASURED
    if crit_files:
        oldest, newest = min(f.stat().st_mtime for f in crit_files), newest_mtime(crit_files)
        crit_when = stamp(newest) if stamp(oldest) == stamp(newest) else f"{stamp(oldest)} to {stamp(newest)}"
    data = [
        ("criterion (Rust)", code(crit_root), crit_when),
        ("Python benchmark", code(inputs["python"]) + (" (**quick run**)" if (py or {}).get("quick") else ""), mtime(inputs["python"])),
        ("Node benchmark", code(inputs["node"]) + (" (**quick run**)" if (node or {}).get("quick") else ""), mtime(inputs["node"])),
        ("memory", code(inputs["memory"]), mtime(inputs["memory"])),
    ]
    return "\n".join(
        [
            "## Machine and versions",
            "",
            table(["", "version"], rows, "ll"),
            "",
            "Inputs of this report (files written by the run; their time of writing):",
            "",
            table(["input", "file", "written"], data, "lll"),
        ]
    )


def method_section(py: Any, node: Any) -> str:
    def lang(doc: Any, name: str, warm: str, target: str, scale: float, gc: str) -> str:
        if not doc:
            return f"- {name}: {NOT_MEASURED}."
        t = doc["timing"]
        return (
            f"- {name}: each path first answers the scenario's ten requests (`bench/scenario.json`) as "
            f"expected, or it is not timed; then per request a warm-up of {t[warm] * scale:g} s, N "
            f"calibrated so one repetition of N calls takes ~{t[target] * scale:g} s, {t['reps']} "
            f"repetitions; the figure is the median of the repetitions' mean time per call, with the "
            f"fastest–slowest repetition in parentheses; {gc}; the timed closure is re-checked 200 "
            f"times after timing." + (" **Quick run: smoke-test timings only.**" if doc.get("quick") else "")
        )

    return "\n".join(
        [
            "## Method",
            "",
            "- Rust: criterion (`core/benches/*.rs`, release profile): a warm-up, then samples of "
            "growing iteration counts (100 samples in ~5 s by default; the audit benchmarks take 10 "
            "samples over 8 s). The figure is criterion's median time per iteration, with the "
            "fastest–slowest sample in parentheses; throughput is elements per iteration / time.",
            lang(py, "Python (`bench/python/run.py`)", "warmup_s", "target_s", 1, "the garbage collector on, a collection before each request"),
            lang(node, "Node (`bench/node/run.js`)", "warmupMs", "targetMs", 1e-3, "a full GC (`--expose-gc`) before each request"),
            "- Ratios (peer / ours: how many times faster we are) are computed from figures of the "
            "same run, never across runs. Absolute times on this shared 2-vCPU machine drift between "
            "runs; ratios drift much less.",
            "- Memory (`core/examples/bench_memory.rs`): resident set (VmRSS) growth around a loop, "
            "divided by its count, each figure in a fresh process (see the memory section).",
        ]
    )


def peer_section(title: str, doc: Any) -> str:
    rows = lang_rows(doc)
    if not rows:
        return f"### {title}\n\n{NOT_MEASURED}."
    guard, check = our_guard(rows), our_check(rows)
    head = ["Library: path"] + [f"{rid} median (min–max)" for rid in IDS]
    times = table(head, [[r.label] + [fmt_stat(r.timings.get(rid)) for rid in IDS] for r in rows])
    ratio_rows = []
    for p in peers_of(rows):
        cells = []
        for rid in IDS:
            pt = p.timings.get(rid)
            g = safe_div(pt.median if pt else None, guard.timings[rid].median if guard and rid in guard.timings else None)
            c = safe_div(pt.median if pt else None, check.timings[rid].median if check and rid in check.timings else None)
            cells.append(f"{fmt_ratio(g)} ({fmt_ratio(c)})")
        ratio_rows.append([p.label] + cells)
    fastest = []
    for rid in IDS:
        best = fastest_peer(rows, rid)
        g = safe_div(best.timings[rid].median if best else None, guard.timings[rid].median if guard and rid in guard.timings else None)
        fastest.append(f"{fmt_ratio(g)} ({best.library})" if best else NOT_MEASURED)
    ratio_rows.append(["**fastest deciding peer / our guarded call**"] + fastest)
    quick = " — quick run" if doc.get("quick") else ""
    return "\n".join(
        [
            f"### {title}{quick}",
            "",
            "Time per decision, every path on the same scenario in one process:",
            "",
            times,
            "",
            "† verify-only: no authorization decision (the baseline: no authorization at all); its "
            "answers are not checked against the scenario.",
            "",
            "Peer time / our guarded call (buffered audit), and in parentheses peer time / our raw "
            "`rt.check` — above 1× we are faster:",
            "",
            table(["Peer"] + list(IDS), ratio_rows),
        ]
    )


def rust_section(benches: dict[str, Bench]) -> str:
    if not benches:
        return f"## Rust core (criterion)\n\n{NOT_MEASURED}."
    out = ["## Rust core (criterion)", ""]
    # Verification.
    # (label, id with `{alg}` for the algorithm)
    kinds: list[tuple[str, str]] = [("signature alone", "signature/{alg}")]
    for kind, label in (
        ("cold", "cold (`verify_chain`: every signature, no runtime)"),
        ("first", "first through the runtime (chain cache cleared)"),
        ("cached", "cached (in-memory store; revocation, status, key binding)"),
    ):
        for links in (1, 2, 3):
            kinds.append((f"{links} link{'s' if links > 1 else ''}, {label}", f"verify/{{alg}}/{kind}/{links}"))
    kinds.append(("1 link, cached, folder store", "verify/{alg}/cached-folder-store/1"))
    rows = []
    for label, pattern in kinds:
        stats = [bench_stat(benches, pattern.format(alg=a)) for a in ALGS]
        if any(stats):
            rows.append([label] + [fmt_stat(s) for s in stats])
    out += ["### Verification", "", table(["verify", *ALGS], rows), ""]
    # Cold overhead.
    rows = []
    for a in ALGS:
        sig = bench_stat(benches, f"signature/{a}")
        for kind in ("cold", "first"):
            for links in (1, 2, 3):
                s = bench_stat(benches, f"verify/{a}/{kind}/{links}")
                if s is None:
                    continue
                over = s.median - links * sig.median if sig else None
                rows.append([a, kind, str(links), fmt_time(s.median), fmt_time(links * sig.median) if sig else NOT_MEASURED, fmt_time(over) if over is not None else NOT_MEASURED])
    out += [
        "Overhead of a verification over its signature checks (chain − n × one signature, medians):",
        "",
        table(["alg", "verification", "links", "chain", "n × signature", "overhead"], rows, "llrrrr"),
        "",
    ]
    # Check.
    base = bench_stat(benches, CHECK_IDS[0])
    rows = []
    for extra, fid in CHECK_IDS.items():
        s = bench_stat(benches, fid)
        rows.append([f"scenario rules + {extra:,} policies on other actions", fmt_stat(s), fmt_ratio(safe_div(s.median if s else None, base.median if base else None))])
    s = bench_stat(benches, "check/R1/with max_uses counter")
    rows.append(["scenario rules, with a `max_uses` counter", fmt_stat(s), fmt_ratio(safe_div(s.median if s else None, base.median if base else None))])
    out += ["### Check (cached token string, request R1, decision recorded in the in-memory log)", "", table(["check", "median (min–max)", "ratio to 0 extra"], rows), ""]
    s = bench_stat(benches, "check/R1/folder, credential")
    if s:
        out += [
            f"As the bindings run it — a folder runtime, buffered audit, a verified `Credential` (no token to hash): R1 {fmt_stat(s)}.",
            "",
        ]
    pol = sorted(k for k in benches if k.startswith("policy evaluate"))
    if pol:
        out += [
            "Policy evaluation alone (`PolicyEngine::evaluate`):",
            "",
            table(["evaluate", "median (min–max)"], [[k.removeprefix("policy evaluate "), fmt_stat(benches[k].stat)] for k in pol]),
            "",
        ]
    # Audit.
    rows = []
    for mode in ("buffered", "sync"):
        one = rate(benches.get(f"audit append/{mode}/1 writers"))
        cells = [fmt_rate_range(rate(benches.get(f"audit append/{mode}/{w} writers"))) for w in (1, 4, 16)]
        sixteen = rate(benches.get(f"audit append/{mode}/16 writers"))
        rows.append([mode, *cells, fmt_ratio(safe_div(sixteen[0] if sixteen else None, one[0] if one else None))])
    ver = rate(benches.get("audit verify/20k events"))
    out += [
        "### Audit log (events per second; a batch = 4,800 decision events of ~800 bytes, flushed at its end)",
        "",
        table(["append", "1 writer", "4 writers", "16 writers", "16 / 1"], rows),
        "",
        f"Verification of a 20,000-event log (hashes, links, checkpoint signatures): {fmt_rate_range(ver)} events/s.",
    ]
    return "\n".join(out)


def policy_section(py: Any, benches: dict[str, Bench], plot: str | None) -> str:
    pts = policy_points(py)
    out = ["## Latency and the number of policies", ""]
    if not pts:
        out.append(f"Python, request R1 with extra policies: {NOT_MEASURED}.")
    else:
        counts = sorted({c for s in pts.values() for c in s})
        series = list(pts)
        rows = []
        for c in counts:
            cells = []
            for name in series:
                s, s0 = pts[name].get(c), pts[name].get(0)
                cells.append(f"{fmt_stat(s)}, {fmt_ratio(safe_div(s.median if s else None, s0.median if s0 else None))}")
            ced, mine = pts.get("cedarpy", {}).get(c), pts.get("ours @guard", {}).get(c)
            cells.append(fmt_ratio(safe_div(ced.median if ced else None, mine.median if mine else None)))
            rows.append([f"{c:,}"] + cells)
        quick = " (quick run)" if py.get("quick") else ""
        out += [
            f"From Python{quick}, request R1, extra `permit`s on other actions loaded next to the scenario's rules "
            "(each path first answers the ten scenario requests as expected): median (min–max), ratio to 0 extra.",
            "",
            table(["extra policies", *series, "cedarpy / ours @guard"], rows),
        ]
    if plot:
        out += ["", f"![R1 latency by number of policies]({plot})"]
    return "\n".join(out)


def depth_section(py: Any, node: Any, plot: str | None) -> str:
    out = ["## Guarded-call overhead and chain length", ""]
    for name, doc, key in (("Python", py, "chain_depth"), ("Node", node, "chainDepth")):
        base, pts = depth_points(doc, key)
        if not pts:
            out += [f"{name}: {NOT_MEASURED}.", ""]
            continue
        rows = []
        for series, by in pts.items():
            for links, (s, over) in sorted(by.items()):
                rows.append([series, str(links), fmt_stat(s), fmt_time(over)])
        quick = " (quick run)" if doc.get("quick") else ""
        out += [
            f"{name}{quick}, request R1, support-bot's credential as a 1-, 2- and 3-link chain (attenuated "
            f"with the same scopes; buffered audit); overhead = time − the bare function ({fmt_time(base.median if base else None)}):",
            "",
            table(["series", "links", "median (min–max)", "overhead"], rows, "lrrr"),
            "",
        ]
    if plot:
        out += [f"![Guarded-call overhead by chain length]({plot})"]
    return "\n".join(out).rstrip()


def token_size(mem: Any) -> str:
    sizes = [c["mean_token_bytes"] for c in (mem.get("per_cached_chain") or {}).values() if c and "mean_token_bytes" in c]
    return f"~{max(sizes):,.0f} bytes" if sizes else "size not recorded"


def memory_section(mem: Any) -> str:
    out = ["## Memory", ""]
    if not mem:
        return "\n".join(out + [f"{NOT_MEASURED}."])
    n = mem.get("count")
    rows = []
    for store in ("in_memory", "folder"):
        a = (mem.get("per_agent") or {}).get(store)
        c = (mem.get("per_cached_chain") or {}).get(store)
        re_open = (a or {}).get("reopened")
        rows.append(
            [
                f"`{store}`",
                fmt_bytes(a.get("bytes_per_item")) if a else NOT_MEASURED,
                fmt_bytes(re_open.get("bytes_per_item")) if re_open else "–",
                fmt_bytes(c.get("bytes_per_item")) if c else NOT_MEASURED,
                f"{a.get('seconds', 0):,.1f} s" if a else NOT_MEASURED,
            ]
        )
    out += [
        f"Resident-set growth divided by the count ({n:,} agents; {n:,} cached {mem.get('alg', '')} 2-link chains), "
        f"{mem.get('profile', '')} build, bar {fmt_bytes(mem.get('bar_bytes', BAR_BYTES))}:",
        "",
        table(["runtime", "per registered agent", "per agent, folder reopened", "per cached chain", f"registering {n:,} agents took"], rows),
        "",
        "- *Per registered agent*: the growth while registering them, which counts everything the runtime "
        "keeps per agent (the store's record and generated private key, the record in the runtime's loaded "
        "view; for the in-memory runtime, the `agent.registered` audit event it keeps in memory) and memory "
        "freed by the state reloads during registration but not returned to the system.",
        "- *Per agent, folder reopened*: a new process opening the folder that holds them, minus opening a "
        "folder holding one agent: the steady-state cost without what registration left behind.",
        "- *Per cached chain*: a fresh runtime verifying each of N distinct 2-link tokens once (minted by other "
        "runtimes over the same store, kept alive so that their freed memory cannot be reused; tokens of "
        f"{token_size(mem)}); the cache holds each verified chain (its links' claims, parsed scopes and "
        "`cnf` keys) under the SHA-256 of its token.",
    ]
    return "\n".join(out)
