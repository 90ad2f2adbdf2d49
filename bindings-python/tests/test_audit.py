"""The audit log seen from Python: a run of decorated calls verifies, and explain shows the
chain behind a call."""

from __future__ import annotations

import json

from conftest import ALICE, BOT, HELPER, Scenario
from runtime_identity import Scope, acting_as, guard


@guard("payments.refund", resource="customer/{customer_id}")
def refund(customer_id: str, amount: int, currency: str = "USD") -> str:
    return f"refunded {amount}"


def test_a_run_verifies_and_explains(file_scenario: Scenario) -> None:
    rt, cred = file_scenario.rt, file_scenario.cred
    sub = cred.attenuate(
        to=HELPER,
        scopes=[Scope("payments.refund", resources=["customer/42"], constraints={"amount": {"max": 50}, "currency": {"eq": "USD"}})],
        purpose="refund the double charge",
    )
    with acting_as(sub, context={"txn": "run-9"}):
        refund("42", 30)
    report = rt.audit.verify()
    assert report["ok"] and report["events"] >= 8, report
    decision = rt.audit.events(type="decision", actor=HELPER)[-1]
    p = rt.audit.explain(decision["decision_id"])
    assert [link["actor"] for link in p["chain"]] == [BOT, HELPER]
    assert p["chain"][0]["issuer"] == "org:acme" and p["chain"][1]["issuer"] == BOT
    assert p["chain"][1]["purpose"] == "refund the double charge" and p["chain"][1]["scopes"]
    assert p["on_behalf_of"] == ALICE and p["txn"] == "run-9" and p["effect"] == "allow"
    assert p["outcome"]["status"] == "ok"
    assert f"{BOT} -> {HELPER}" in p["text"]
    prov = rt.audit.export_prov(actor=HELPER)
    assert f"call:{decision['decision_id']}" in prov["activity"]
    # Nothing secret reached the log.
    rt.audit.flush()
    log = json.dumps(rt.audit.events())
    assert sub.token.split("~")[-1] not in log and cred.token not in log


def test_events_filters(scenario: Scenario) -> None:
    rt, cred = scenario.rt, scenario.cred
    with acting_as(cred):
        refund("42", 10)
    assert len(rt.audit.events(effect="allow")) == 1
    assert rt.audit.events(since=4102444800) == []  # 2100-01-01
    assert len(rt.audit.events(limit=2)) == 2
    assert {e["type"] for e in rt.audit.events(actor=BOT)} >= {"agent.registered", "grant.issued", "decision"}
