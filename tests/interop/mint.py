"""Plays tests/interop/plan.json into a runtime folder from Python and writes the cases with
the results Python got, for decide.mjs (or decide.py) to replay in the other language.

    python tests/interop/mint.py FOLDER CASES.json
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import interop as io
from runtime_identity import Runtime

Json = Any


def main(folder: Path, out: Path) -> int:
    started = time.perf_counter()
    plan = io.load_json(Path(__file__).with_name("plan.json"))
    issuer = plan["issuer"]
    # The policies live in the folder, so that every runtime opening it loads them.
    io.policies_dir(folder).mkdir(parents=True, mode=0o700)
    folder.chmod(0o700)
    for rel in plan["policies"]:
        shutil.copy(io.REPO / rel, io.policies_dir(folder))
    rt = Runtime.open(folder, issuer=issuer, alg="ES256")
    clock = io.Clock(rt, folder, issuer)
    problems: list[str] = []

    for a in plan["agents"]:
        opts = {k: a[k] for k in ("attributes", "max_delegation_depth", "org", "name", "description", "alg") if k in a}
        rt.register_agent(a["id"], owner=a["owner"], **opts)
    for r in plan["resources"]:
        rt.upsert_resource(r["id"], data_class=r.get("data_class"), attributes=r.get("attributes"))

    tokens: dict[str, str] = {}
    for step in plan["steps"]:
        if "delegate" in step:
            cred = rt.delegate(
                to=step["to"], on_behalf_of=step["on_behalf_of"], scopes=step["scopes"], ttl=step.get("ttl"), purpose=step.get("purpose"), max_depth=step.get("max_depth")
            )
            tokens[step["delegate"]] = cred.token
        elif "attenuate" in step:
            # From the token, as an agent receives it; the parent agent's key is in the folder.
            cred = rt.attenuate(tokens[step["parent"]], to=step["to"], scopes=step["scopes"], ttl=step.get("ttl"), purpose=step.get("purpose"))
            tokens[step["attenuate"]] = cred.token
        elif "rotate_authority_key" in step:
            rt.rotate_authority_key(step["rotate_authority_key"])
        elif "use" in step:
            token = tokens[step["use"]]
            result = io.check(clock, token, {"request": step["request"], "at": step.get("at")}, io.verify(rt, token))
            if not result["decision"]["allowed"]:
                problems.append(f"use of {step['use']} was not allowed: {result['decision']['reasons']}")
        elif "revoke" in step:
            rt.revoke(rt.verify(tokens[step["revoke"]]).grant_id)
        elif "suspend_agent" in step:
            rt.suspend_agent(step["suspend_agent"])
        elif "revoke_agent" in step:
            rt.revoke_agent(step["revoke_agent"])
        elif "tamper" in step:
            tokens[step["tamper"]] = io.tamper(tokens[step["from"]], step["link"], step["how"])
        else:
            raise ValueError(f"unknown step {step}")

    credentials: dict[str, dict[str, Json]] = {name: {"token": token, "verify": io.verify(rt, token)} for name, token in tokens.items()}
    checks = []
    for case in plan["checks"]:
        result = io.check(clock, tokens[case["credential"]], case, credentials[case["credential"]]["verify"])
        problems += io.consistency(case["name"], result)
        problems += io.expectation(case, result["decision"])
        checks.append({**case, **result})
    approvals = []
    for case in plan["approvals"]:
        flow = io.approval_flow(clock, tokens[case["credential"]], case, credentials[case["credential"]]["verify"], None)
        for name, r in flow["results"].items():
            if isinstance(r, dict) and "decision" in r:
                problems += io.consistency(f"{case['name']} / {name}", r)
        problems += io.flow_expectations(case["name"], flow["results"])
        approvals.append({**case, **flow})
    handoffs = []
    for case in plan["handoffs"]:
        outcome = io.handoff(clock, tokens[case["parent"]], case)["outcome"]
        problems += io.expectation(case, outcome)
        handoffs.append({**case, "outcome": outcome})

    cases = {
        "format": io.FORMAT,
        "minted_by": io.version_info(),
        "issuer": issuer,
        "policies_loaded": rt.load_policies(io.policies_dir(folder)),
        "jwks": rt.jwks(),
        "agents": io.agents(rt, [a["id"] for a in plan["agents"]]),
        "credentials": credentials,
        "checks": checks,
        "approvals": approvals,
        "handoffs": handoffs,
    }
    audit = rt.audit.verify()
    if not audit["ok"]:
        problems.append(f"audit log does not verify: {audit}")
    clock.close()
    rt.close()
    io.write_json(out, cases)
    for p in problems:
        print(f"mint.py: PROBLEM: {p}")
    print(
        f"mint.py: {len(credentials)} credentials, {len(checks)} checks, {len(approvals)} approval flows, "
        f"{len(handoffs)} handoffs -> {out} ({time.perf_counter() - started:.2f} s)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
