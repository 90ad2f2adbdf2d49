"""A typed use of the package: `mypy --strict` must pass on it (run by `make test`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from runtime_identity import Credential, Decision, Denied, Runtime, Scope, acting_as, guard


@guard("payments.refund", resource="customer/{customer_id}")
def refund(customer_id: str, amount: float, currency: str = "USD") -> str:
    return f"refunded {amount} {currency} to {customer_id}"


@guard("crm.read", resource="customer/{customer_id}")
async def read(customer_id: str) -> dict[str, str]:
    return {"id": customer_id}


@guard("crm.read", resource="customer/{customer_id}")
def rows(customer_id: str) -> Iterator[int]:
    yield from range(3)


def main() -> None:
    rt: Runtime = Runtime.in_memory("org:acme")
    rt.register_agent("agent:acme/bot", owner="user:alice@acme")
    cred: Credential = rt.delegate(
        to="agent:acme/bot",
        on_behalf_of="user:alice@acme",
        scopes=[
            Scope(["payments.refund"], resources=["customer/*"], constraints={"amount": {"max": 100}}),
            Scope("crm.read", resources=["customer/*"]),
        ],
    )
    with acting_as(cred):
        text: str = refund("42", 10.0)
        numbers: list[int] = list(rows("42"))
        try:
            refund("42", 1000.0)
        except Denied as e:
            d: Decision = e.decision
            print(d.code, d.message)
    record: dict[str, str] = asyncio.run(read.call_as(cred, "42"))
    decision = rt.check(cred, "crm.read", "customer/42")
    if decision:
        print(text, numbers, record, decision.decision_id)
    print(rt.audit.verify()["ok"])


if __name__ == "__main__":
    main()
