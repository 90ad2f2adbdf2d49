"""The shared guard cases (tests/guard_cases.json), also run by bindings-node/test/guard-cases.test.js."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ALICE, Scenario
from runtime_identity import ApprovalRequest, ApprovalRequired, Denied, Receipt, acting_as, guard

CASES = json.loads((Path(__file__).parents[2] / "tests" / "guard_cases.json").read_text())["cases"]


async def _async_approve(req: ApprovalRequest) -> Receipt:
    return req.approve(ALICE)


def _tool(spec: dict[str, Any], received: list[dict[str, Any]]) -> Callable[..., Any]:
    """A function of the case's parameters (with its defaults) that records what it received."""
    params = ", ".join(f"{p}={spec['defaults'][p]!r}" if p in spec["defaults"] else p for p in spec["params"])
    got = "{" + ", ".join(f"{p!r}: {p}" for p in spec["params"]) + "}"
    if spec.get("kind") == "stream":
        body = f"    received.append({got})\n    for i in range(3):\n        yield i\n"
    else:
        body = f"    received.append({got})\n    return {got}\n"
    scope: dict[str, Any] = {"received": received}
    exec(f"def tool({params}):\n{body}", scope)  # noqa: S102 - the case's signature, from the checked-in table
    fn: Callable[..., Any] = scope["tool"]
    return fn


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_guard_case(case: dict[str, Any], scenario: Scenario) -> None:
    expect = case.get("expect_python", case.get("expect"))
    spec = case["tool"]
    received: list[dict[str, Any]] = []
    on_approval = _async_approve if spec.get("on_approval") == "async_approve" else None
    tool = guard("payments.refund", resource=spec["resource"], on_approval=on_approval)(_tool(spec, received))
    with acting_as(scenario.cred):
        try:
            out = tool(**case["call"])
            if spec.get("kind") == "stream":
                stream: Iterator[Any] = out
                assert next(stream) == 0
                stream.close()
        except Denied as e:
            assert expect.get("denied") == e.code, expect
            return
        except ApprovalRequired:
            assert expect.get("approval_required"), expect
            return
        except TypeError:
            assert expect.get("error") == "TypeError", expect
            return
    assert "denied" not in expect and "error" not in expect and "approval_required" not in expect, expect
    assert expect["ran"] is True and len(received) == 1
    if "received" in expect:
        assert received[0] == expect["received"]
    if "resource" in expect:
        assert scenario.rt.audit.events(type="decision")[-1]["resource"] == expect["resource"]
    if "outcome" in expect:
        outcome = scenario.rt.audit.events(type="outcome")[-1]["outcome"]
        assert {k: outcome.get(k) for k in expect["outcome"]} == expect["outcome"]
