"""The report's plots (matplotlib, Agg backend): latency by number of policies, guarded-call
overhead by chain length, audit events/s by writers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .bars import BAR_BUFFERED_EVENTS
from .inputs import CHECK_IDS, Bench, bench_stat, depth_points, policy_points, rate


def plots(out_dir: Path, py: Any, node: Any, benches: dict[str, Bench]) -> dict[str, Path]:
    """Draws the plots whose data exist; returns name → file."""

    def quick(*docs: Any) -> str:
        return " (quick run)" if any((d or {}).get("quick") for d in docs) else ""

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: matplotlib is not installed: no plots (pip install -r bench/requirements.txt)", file=sys.stderr)
        return {}
    out_dir.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}

    def save(fig: Any, name: str) -> None:
        path = out_dir / f"{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110, metadata={"Software": None})
        plt.close(fig)
        made[name] = path

    pts = policy_points(py)
    rust = {c: s for c, fid in CHECK_IDS.items() if (s := bench_stat(benches, fid))}
    if pts or rust:
        fig, ax = plt.subplots(figsize=(7, 4.2))
        series = [(f"Python: {k}", v) for k, v in pts.items()] + ([("Rust: check (criterion)", rust)] if rust else [])
        counts = sorted({c for _, v in series for c in v})
        xs = {c: i for i, c in enumerate(counts)}
        for label, by in series:
            cs = sorted(by)
            ax.errorbar(
                [xs[c] for c in cs],
                [by[c].median / 1e3 for c in cs],
                yerr=[[(by[c].median - by[c].lo) / 1e3 for c in cs], [(by[c].hi - by[c].median) / 1e3 for c in cs]],
                marker="o",
                capsize=3,
                label=label,
            )
        ax.set_xticks(range(len(counts)), [f"+{c:,}" for c in counts])
        ax.set_xlabel("extra policies on other actions (next to the scenario's rules)")
        ax.set_yscale("log")
        ax.set_ylabel("µs per decision, request R1 (log)")
        ax.set_title("Latency vs number of policies: ours and cedarpy" + quick(py))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        save(fig, "policies")

    lines = []
    for lang, doc, key in (("Python", py, "chain_depth"), ("Node", node, "chainDepth")):
        _, dp = depth_points(doc, key)
        lines += [(f"{lang}: {series}", pts_by_links) for series, pts_by_links in dp.items()]
    if lines:
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for label, depth in lines:
            ls = sorted(depth)
            ax.errorbar(
                ls,
                [depth[n][1] / 1e3 for n in ls],
                yerr=[[(depth[n][0].median - depth[n][0].lo) / 1e3 for n in ls], [(depth[n][0].hi - depth[n][0].median) / 1e3 for n in ls]],
                marker="o",
                capsize=3,
                label=label,
            )
        ax.set_xticks([1, 2, 3])
        ax.set_xlabel("links in the credential's chain")
        ax.set_ylabel("µs over the bare function, request R1")
        ax.set_ylim(bottom=0)
        ax.set_title("Guarded-call overhead vs chain depth" + quick(py, node))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        save(fig, "chain_depth")

    audit = {
        mode: {w: r for w in (1, 4, 16) if (r := rate(benches.get(f"audit append/{mode}/{w} writers")))}
        for mode in ("buffered", "sync")
    }
    if any(audit.values()):
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for mode, rates in audit.items():
            if not rates:
                continue
            ws = sorted(rates)
            ax.errorbar(
                ws,
                [rates[w][0] for w in ws],
                yerr=[[rates[w][0] - rates[w][1] for w in ws], [rates[w][2] - rates[w][0] for w in ws]],
                marker="o",
                capsize=3,
                label=mode,
            )
        ax.axhline(BAR_BUFFERED_EVENTS, color="grey", linestyle="--", linewidth=1, label="bar: 200k events/s (buffered, 1 writer)")
        ax.set_xscale("log", base=2)
        ax.set_xticks([1, 4, 16], ["1", "4", "16"])
        ax.set_yscale("log")
        ax.set_xlabel("concurrent writers")
        ax.set_ylabel("events appended per second (log)")
        ax.set_title("Audit log: events/s vs writers")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        save(fig, "audit_writers")
    return made
