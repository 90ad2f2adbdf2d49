"""Markdown and number formatting for the report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path

from .inputs import ROOT, Stat

NOT_MEASURED = "not measured"


def fmt_time(ns: float | None) -> str:
    if ns is None:
        return NOT_MEASURED
    if ns < 0:
        return "−" + fmt_time(-ns)
    if ns >= 1e6:
        return f"{ns / 1e6:,.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:,.1f} µs" if ns < 1e5 else f"{ns / 1e3:,.0f} µs"
    return f"{ns:.3g} ns" if ns < 100 else f"{ns:.0f} ns"


def fmt_stat(s: Stat | None) -> str:
    return NOT_MEASURED if s is None else f"{fmt_time(s.median)} ({fmt_time(s.lo)}–{fmt_time(s.hi)})"


def fmt_rate(per_s: float | None) -> str:
    if per_s is None:
        return NOT_MEASURED
    return f"{per_s / 1e3:,.1f}k" if per_s < 1e6 else f"{per_s / 1e6:,.2f}M"


def fmt_rate_range(r: tuple[float, float, float] | None) -> str:
    return NOT_MEASURED if r is None else f"{fmt_rate(r[0])} ({fmt_rate(r[1])}–{fmt_rate(r[2])})"


ALGS = ("ES256", "EdDSA")


def fmt_ratio(x: float | None) -> str:
    return NOT_MEASURED if x is None else (f"{x:.2f}×" if x < 10 else f"{x:,.0f}×" if x >= 100 else f"{x:.1f}×")


def fmt_bytes(b: float | None) -> str:
    return NOT_MEASURED if b is None else f"{b:,.0f} B"


def table(head: Sequence[str], rows: Iterable[Sequence[str]], align: str | None = None) -> str:
    align = align or ("l" + "r" * (len(head) - 1))
    sep = "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"
    lines = ["| " + " | ".join(head) + " |", sep]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def verdict(met: bool | None) -> str:
    return "unknown" if met is None else ("**met**" if met else "**not met**")


def code(p: Path | None) -> str:
    return f"`{rel(p)}`" if p is not None else NOT_MEASURED


def rel(p: Path | None) -> str:
    if p is None:
        return NOT_MEASURED
    try:
        return str(p.resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


def mtime(path: Path | None) -> str:
    if path is None or not path.exists():
        return NOT_MEASURED
    return dt.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
