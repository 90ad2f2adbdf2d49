"""Replays the cases another language wrote (mint.mjs, or decide.mjs --emit) on the same
runtime folder from Python, and fails with a diff on any difference: the registry and JWKS as
read from the folder, every token's verification, every decision (effect, reason codes and
messages, actor, chain, on behalf of, grant, policies, approval request), the action hashes,
the audit events the other language wrote, the approval flows (with the other language's
receipt), and the attenuations of its tokens with agent keys from the folder.

    python tests/interop/decide.py FOLDER CASES.json [--emit OUT.json]

With --emit, the credentials attenuated here and their decisions are written to OUT.json in
the same format, for the other language to replay in turn.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import interop as io
from runtime_identity import Runtime

Json = Any


def main(folder: Path, cases_path: Path, emit: Path | None) -> int:
    started = time.perf_counter()
    cases = io.load_json(cases_path)
    if cases.get("format") != io.FORMAT:
        sys.exit(f"decide.py: {cases_path} is not a {io.FORMAT} file")
    theirs = cases["minted_by"]["language"]
    cmp = io.Comparison(theirs, "python")
    problems: list[str] = []
    rt = Runtime.open(folder, issuer=cases["issuer"])
    clock = io.Clock(rt, folder, cases["issuer"])

    cmp.same("policies loaded from the folder", cases["policies_loaded"], rt.load_policies(io.policies_dir(folder)))
    cmp.same("authority JWKS", cases["jwks"], rt.jwks())
    cmp.same("agent records", cases["agents"], io.agents(rt, [a["id"] for a in cases["agents"]]))

    verified: dict[str, Json] = {}
    for name, cred in cases["credentials"].items():
        verified[name] = io.verify(rt, cred["token"])
        cmp.same(f"verify {name}", cred["verify"], verified[name])

    audit_compared = 0
    for case in cases["checks"]:
        what = f"check {case['name']!r}"
        token = cases["credentials"][case["credential"]]["token"]
        got = io.check(clock, token, case, verified[case["credential"]])
        cmp.check_result(what, case, got)
        problems += io.consistency(what, got)
        problems += io.expectation(case, got["decision"])
        # The audit event the other language wrote for this call, read here, is the one we wrote.
        event = io.audit_event(rt, case["decision_id"])
        cmp.same(f"{what} (its audit event, written by {theirs}, vs ours)", event, io.audit_event(rt, got["decision_id"]))
        if "args_digest" in event:
            cmp.same(f"{what} (args_digest vs the JCS definition)", io.args_digest(case["request"].get("args")), event["args_digest"])
        audit_compared += 1

    for case in cases.get("approvals", []):
        what = f"approval {case['name']!r}"
        token = cases["credentials"][case["credential"]]["token"]
        flow = io.approval_flow(clock, token, case, verified[case["credential"]], case["receipt"])
        mine, ref = flow["results"], case["results"]
        problems += io.flow_expectations(what, mine)
        for step, value in mine.items():
            # The other language's receipt behaves like its own did there.
            expected = ref.get(step[len("cross_") :] if step.startswith("cross_") else step)
            if expected is None:
                cmp.diffs.append(f"{what}: step {step} is missing in the {theirs} results")
            elif "decision" in value:
                cmp.check_result(f"{what} / {step}", expected, value)
                problems += io.consistency(f"{what} / {step}", value)
            else:
                cmp.same(f"{what} / {step}", expected, value)

    emitted: dict[str, Json] = {"credentials": {}, "checks": []}
    for case in cases.get("handoffs", []):
        what = f"handoff {case['name']!r}"
        parent = cases["credentials"][case["parent"]]["token"]
        result = io.handoff(clock, parent, case)
        cmp.same(what, case["outcome"], result["outcome"])
        problems += io.expectation(case, result["outcome"])
        if "raw" in result:
            raw = result["raw"]
            name = f"handoff by {cmp.ours}: {case['name']}"
            emitted["credentials"][name] = {"token": raw["token"], "verify": raw["verify"]}
            for req, r in zip(case.get("checks", []), raw["checks"], strict=False):
                problems += io.consistency(f"{what} / {req['action']}", r)
                emitted["checks"].append({"name": f"{name} / {req['action']} {req.get('args') or ''}", "credential": name, "request": req, **r})

    report = rt.audit.verify()
    if not report["ok"]:
        problems.append(f"the shared audit log does not verify: {report}")
    if emit is not None:
        io.write_json(
            emit,
            {
                "format": io.FORMAT,
                "minted_by": io.version_info(),
                "issuer": cases["issuer"],
                "policies_loaded": rt.load_policies(io.policies_dir(folder)),
                "jwks": rt.jwks(),
                "agents": io.agents(rt, [a["id"] for a in cases["agents"]]),
                **emitted,
            },
        )
    clock.close()
    rt.close()

    label = f"decide.py ({theirs} -> python, {cases_path.name})"
    for n in cmp.notes:
        print(f"{label}: NOTE: {n}")
    for d in cmp.diffs:
        print(f"{label}: MISMATCH {d}")
    for p in problems:
        print(f"{label}: PROBLEM {p}")
    status = "OK" if not (cmp.diffs or problems) else f"FAILED ({len(cmp.diffs)} mismatches, {len(problems)} problems)"
    print(
        f"{label}: {status}: {len(cases['credentials'])} tokens verified, {len(cases['checks'])} checks, "
        f"{len(cases.get('approvals', []))} approval flows, {len(cases.get('handoffs', []))} handoffs, "
        f"{audit_compared} audit events, {cmp.compared} comparisons; audit log {report['events']} events intact={report['ok']} "
        f"({time.perf_counter() - started:.2f} s)"
    )
    return 0 if status == "OK" else 1


if __name__ == "__main__":
    args = sys.argv[1:]
    out = None
    if "--emit" in args:
        i = args.index("--emit")
        out = Path(args[i + 1])
        del args[i : i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(args[0]), Path(args[1]), out))
