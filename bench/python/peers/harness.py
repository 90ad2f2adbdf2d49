"""The timing harness shared by every path (the peers' and ours).

A *path* is one way of asking one library for a decision: :class:`Path` holds how to prepare
the library's state from the scenario once, how to decide one request, and how to build the
zero-argument closure that is timed (the request already in the library's native input form,
so only the library's per-call work is measured). :func:`verify` must pass before a path is
timed; :func:`time_request` times one closure; :func:`results_table` renders the results.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Generic, Protocol, TypedDict, TypeVar

from .scenario import Request, Scenario

S = TypeVar("S")
#: A zero-argument closure around one pre-built request; for a deciding path it returns the
#: decision (``True`` = allow), for a verify-only path whatever the library returns.
Call = Callable[[], object]


class Timing(TypedDict):
    """Nanoseconds per call over the repetitions (median, fastest, slowest) and calls per repetition."""

    median_ns: float
    min_ns: float
    max_ns: float
    n: int


@dataclass(frozen=True)
class Path(Generic[S]):
    """One library's way to decide; ``S`` is whatever ``prepare`` builds once."""

    name: str
    library: str
    prepare: Callable[[Scenario], S]
    decide: Callable[[S, Request], bool]
    call: Callable[[S, Request], Call]
    #: A path that cannot express the scenario's decisions (a bare credential check): its
    #: answers are reported but not required to match ``expect``.
    verify_only: bool = False
    #: Distribution names whose versions are reported with the results.
    packages: tuple[str, ...] = ()
    note: str = ""

    def bind(self, scenario: Scenario) -> Bound[S]:
        return Bound(self, self.prepare(scenario))


@dataclass(frozen=True)
class Bound(Generic[S]):
    """A path with its prepared state: what :func:`verify` and the runner work on."""

    path: Path[S]
    state: S

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def verify_only(self) -> bool:
        return self.path.verify_only

    def decide(self, request: Request) -> bool:
        return self.path.decide(self.state, request)

    def call(self, request: Request) -> Call:
        return self.path.call(self.state, request)


class Decider(Protocol):
    """What :func:`verify` needs: a name, whether correctness is required, and ``decide``."""

    @property
    def name(self) -> str: ...

    @property
    def verify_only(self) -> bool: ...

    def decide(self, request: Request) -> bool: ...


class VerificationError(AssertionError):
    """A path answered some request differently from its ``expect``: it is never timed."""


@dataclass(frozen=True)
class Verification:
    name: str
    checked: int
    #: Requests whose answer differed from ``expect`` (only ever non-empty when skipped).
    disagreements: tuple[str, ...] = ()
    skipped: bool = False

    def summary(self) -> str:
        if not self.skipped:
            return f"{self.name}: all {self.checked} requests answered as expected"
        agree = self.checked - len(self.disagreements)
        differ = f" (differs on {', '.join(self.disagreements)})" if self.disagreements else ""
        return (
            f"{self.name}: verify-only, correctness NOT checked; its decide() agrees with "
            f"expect on {agree}/{self.checked}{differ}"
        )


def verify(path: Decider, requests: Iterable[Request]) -> Verification:
    """Run every request through ``path.decide`` and raise :class:`VerificationError` listing
    each answer that differs from ``expect``; a verify-only path only has its answers recorded."""
    wrong: list[Request] = []
    checked = 0
    for request in requests:
        checked += 1
        got = path.decide(request)
        if not isinstance(got, bool):
            raise VerificationError(f"{path.name}: {request['id']}: decide returned {got!r}, not a bool")
        if got != request["expect"]:
            wrong.append(request)
    if wrong and not path.verify_only:
        detail = "; ".join(f"{r['id']} (expected {r['expect']})" for r in wrong)
        raise VerificationError(f"{path.name}: wrong answers: {detail}")
    return Verification(path.name, checked, tuple(str(r["id"]) for r in wrong), path.verify_only)


def recheck(name: str, request: Request, fn: Call, times: int = 200) -> None:
    """Call a timed closure ``times`` more times and raise if its decision ever differs."""
    for _ in range(times):
        got = fn()
        if got is not request["expect"]:
            raise VerificationError(
                f"{name}: {request['id']}: timed call returned {got!r}, expected {request['expect']}"
            )


def _run(fn: Call, n: int) -> int:
    t0 = time.perf_counter_ns()
    for _ in repeat(None, n):
        fn()
    return time.perf_counter_ns() - t0


def time_request(fn: Call, *, warmup_s: float = 0.2, target_s: float = 0.5, reps: int = 5) -> Timing:
    """Time ``fn``: warm up for ``warmup_s``, calibrate N so one repetition of N calls takes
    about ``target_s``, then run ``reps`` repetitions; values are ns per call (GC left on)."""
    if not gc.isenabled():
        raise RuntimeError("time_request measures with the garbage collector on")
    calls, spent, deadline = 0, 0, time.perf_counter_ns() + int(warmup_s * 1e9)
    batch = 1
    while True:
        spent += _run(fn, batch)
        calls += batch
        if time.perf_counter_ns() >= deadline:
            break
        batch = min(batch * 2, 1 << 16)
    per_call = spent / calls
    n = max(1, round(target_s * 1e9 / per_call))
    samples = [_run(fn, n) / n for _ in range(reps)]
    return Timing(median_ns=statistics.median(samples), min_ns=min(samples), max_ns=max(samples), n=n)


def fmt_ns(ns: float) -> str:
    """Thousands separators from 100 ns up, three significant digits below."""
    return f"{ns:,.0f}" if ns >= 100 else f"{ns:.3g}"


@dataclass
class Row:
    """One timed path: its label and a :class:`Timing` per timed request id."""

    library: str
    path: str
    timings: Mapping[str, Timing] = field(default_factory=dict)
    verify_only: bool = False


def results_table(rows: Sequence[Row], request_ids: Sequence[str] = ("R1", "R2", "R3", "R4")) -> str:
    """A Markdown table: per request the median ns per call and the min–max over repetitions.
    Verify-only paths are marked with † (their correctness was not checked)."""
    head = ["Library", "Path"]
    for rid in request_ids:
        head += [f"{rid} median", f"{rid} min–max"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (2 * len(request_ids))]
    for row in rows:
        cells = [row.library, row.path + (" †" if row.verify_only else "")]
        for rid in request_ids:
            t = row.timings.get(rid)
            cells += [fmt_ns(t["median_ns"]), f"{fmt_ns(t['min_ns'])}–{fmt_ns(t['max_ns'])}"] if t else ["–", "–"]
        lines.append("| " + " | ".join(cells) + " |")
    if any(r.verify_only for r in rows):
        lines.append("")
        lines.append("† verify-only: no authorization decision; its answers were not checked against the scenario.")
    return "\n".join(lines)


def as_json(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [
        {"library": r.library, "path": r.path, "verify_only": r.verify_only, "timings": dict(r.timings)} for r in rows
    ]
