"""The story of runtime-identity from Python: an agent acts for a person, within a grant,
under the organisation's policies, with a person approving what the policy says needs one —
and every step is on a tamper-evident record. Run: `make demo` (or `python examples/python/quickstart.py`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from runtime_identity import (
    ApprovalRequest,
    ApprovalRequired,
    DelegationError,
    Denied,
    Runtime,
    Scope,
    acting_as,
    guard,
)

POLICIES = Path(__file__).resolve().parents[1] / "policies" / "scenario.cedar"


def step(title: str) -> None:
    print(f"\n== {title}")


@guard("payments.refund", resource="customer/{customer_id}")
def refund(customer_id: str, amount: float, currency: str = "USD") -> str:
    """Refunds a customer (the tool an agent calls)."""
    return f"refunded {amount} {currency} to customer {customer_id}"


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="rid-quickstart-")) / "rt"
    rt = Runtime.open(home, issuer="org:acme")

    step("alice registers her support agent and its helper; the org's policies are loaded")
    rt.register_agent("agent:acme/support-bot", owner="user:alice@acme", org="acme")
    rt.register_agent("agent:acme/refund-helper", owner="user:alice@acme", org="acme")
    rt.upsert_resource("customer/42", data_class="internal")
    rt.upsert_resource("customer/77", data_class="pci")
    print(f"{rt.load_policies(str(POLICIES))} Cedar policies: F01 forbids PCI data, A01 asks a person for refunds over 80")

    step("alice delegates a 15-minute grant: refunds up to 100 USD")
    cred = rt.delegate(
        to="agent:acme/support-bot",
        on_behalf_of="user:alice@acme",
        scopes=[Scope("payments.refund", resources=["customer/*"], constraints={"amount": {"max": 100}, "currency": {"eq": "USD"}})],
        ttl="15m",
        purpose="ticket 4711: refund a double charge",
    )
    print(f"grant {cred.grant_id} for {cred.actor}, expires {cred.expires_at:%H:%M:%S} UTC")

    with acting_as(cred, context={"txn": "ticket-4711"}):
        step("a refund of 30 USD: allowed")
        print(refund("42", 30))

        step("a refund of 500 USD: denied by the grant's constraint")
        try:
            refund("42", 500)
        except Denied as e:
            print(f"denied: {e.code}: {e.decision.message}")

        step("a refund to a PCI customer: denied by policy F01")
        try:
            refund("77", 20)
        except Denied as e:
            print(f"denied: {e.code} by {', '.join(e.decision.policies)}")

        step("a refund of 90 USD needs a person: alice approves, it runs once")
        try:
            refund("42", 90)
        except ApprovalRequired as e:
            print(f"approval needed ({e.request['reason']}); request {e.request['id']}")

        def alice_approves(request: ApprovalRequest) -> object:
            print(f"alice sees: {request.action} on {request.resource} by {request.actor}: approves")
            return request.approve("user:alice@acme")

        approved = guard("payments.refund", resource="customer/{customer_id}", on_approval=alice_approves)(refund.__wrapped__)
        print(approved("42", 90))

    step("support-bot hands refund-helper a narrower grant; widening it is refused")
    sub = cred.attenuate(
        to="agent:acme/refund-helper",
        scopes=[Scope("payments.refund", resources=["customer/42"], constraints={"amount": {"max": 20}, "currency": {"eq": "USD"}})],
    )
    print(f"chain: {' -> '.join(sub.agents)} on behalf of {sub.on_behalf_of}")
    try:
        sub.attenuate(to="agent:acme/support-bot", scopes=[Scope("payments.*", resources=["customer/*"])])
    except DelegationError as e:
        print(f"refused: {e.code}")
    with acting_as(sub):
        print(refund("42", 15))

    step("alice suspends support-bot: the helper's next call is denied at once")
    rt.suspend_agent("agent:acme/support-bot")
    with acting_as(sub):
        try:
            refund("42", 10)
        except Denied as e:
            print(f"denied: {e.code}")

    step("the audit log: verify it, then explain the approved refund")
    report = rt.audit.verify()
    print(f"intact: {report['ok']} ({report['events']} events)")
    last_allowed = rt.audit.events(type="decision", effect="allow", actor="agent:acme/support-bot")[-1]
    print(rt.audit.explain(last_allowed["decision_id"])["text"])
    rt.close()


if __name__ == "__main__":
    main()
