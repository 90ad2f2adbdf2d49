"""MCP with the real `mcp` package: a server whose tools are guarded, driven by the in-memory
client."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anyio
from conftest import ALICE, BOT, HELPER, Scenario
from mcp import Client
from mcp.server.mcpserver import MCPServer
from runtime_identity import Scope, guard
from runtime_identity.integrations.mcp import credential_meta, protect


def crm_server(s: Scenario) -> MCPServer:
    server = MCPServer("crm")

    @server.tool()
    @guard("payments.refund", resource="customer/{customer_id}")
    def refund(customer_id: str, amount: float, currency: str = "USD") -> str:
        """Refund a customer."""
        return f"refunded {amount} {currency} to {customer_id}"

    @server.tool()
    async def read_customer(customer_id: str) -> str:
        """Read a customer."""
        return f"customer {customer_id}"

    return protect(server, s.rt, actions={"read_customer": "crm.read"}, resources={"read_customer": "customer/{customer_id}"})


def test_each_call_is_checked_with_the_callers_credential(scenario: Scenario) -> None:
    server = crm_server(scenario)
    sub = scenario.cred.attenuate(to=HELPER, scopes=[Scope("crm.read", resources=["customer/42"])])

    async def main() -> list[tuple[bool, str]]:
        out = []
        async with Client(server) as c:
            for name, args, cred in [
                ("refund", {"customer_id": "42", "amount": 10}, scenario.cred),
                ("refund", {"customer_id": "42", "amount": 500}, scenario.cred),
                ("read_customer", {"customer_id": "42"}, scenario.cred),
                ("read_customer", {"customer_id": "77"}, scenario.cred),
                ("read_customer", {"customer_id": "42"}, sub),
                ("refund", {"customer_id": "42", "amount": 10}, sub),
            ]:
                r = await c.call_tool(name, args, meta=credential_meta(cred))
                out.append((r.is_error, r.content[0].text))  # type: ignore[union-attr]
            r = await c.call_tool("read_customer", {"customer_id": "42"})
            out.append((r.is_error, r.content[0].text))  # type: ignore[union-attr]
        return out

    results = anyio.run(main)
    assert results[0] == (False, "refunded 10.0 USD to 42")
    assert results[1][0] and "constraint_violated" in results[1][1]
    assert results[2] == (False, "customer 42")
    assert results[3][0] and "policy_forbid" in results[3][1]
    assert results[4] == (False, "customer 42")
    assert results[5][0] and "action_not_granted" in results[5][1]
    assert results[6][0] and "denied (credential_invalid)" in results[6][1] and "no credential" in results[6][1]
    decisions = scenario.rt.audit.events(type="decision")
    assert [d.get("actor") for d in decisions][-3:] == [HELPER, HELPER, None]
    assert decisions[-1]["reasons"][0]["code"] == "credential_invalid"  # recorded like any refusal
    assert scenario.rt.audit.verify()["ok"]


def test_a_forged_token_is_refused(scenario: Scenario) -> None:
    server = crm_server(scenario)
    token = scenario.cred.token
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    async def main() -> Any:
        async with Client(server) as c:
            return await c.call_tool("read_customer", {"customer_id": "42"}, meta=credential_meta(forged))

    r = anyio.run(main)
    assert r.is_error and "credential_invalid" in r.content[0].text  # type: ignore[union-attr]


def test_a_decimal_amount_is_checked_through_protect(scenario: Scenario) -> None:
    """MCP validates `amount: Decimal` into a Decimal before the guarded tool sees it: the
    amount must be checked (policy A01 asks a person above 80), not left out (issue 16, item 1)."""
    server = MCPServer("payments")
    ran: list[Decimal] = []

    @server.tool()
    @guard("payments.refund", resource="customer/{customer_id}")
    def refund(customer_id: str, amount: Decimal) -> str:
        """Refund a customer."""
        ran.append(amount)
        return f"refunded {amount} to {customer_id}"

    protect(server, scenario.rt)
    cred = scenario.rt.delegate(to=BOT, on_behalf_of=ALICE, scopes=[Scope("payments.refund", resources=["customer/*"])])

    async def main() -> list[tuple[bool, str]]:
        async with Client(server) as c:
            out = []
            for amount in (50, 5000, "5000.00"):
                r = await c.call_tool("refund", {"customer_id": "42", "amount": amount}, meta=credential_meta(cred))
                out.append((r.is_error, r.content[0].text))  # type: ignore[union-attr]
            return out

    results = anyio.run(main)
    assert results[0] == (False, "refunded 50 to 42")
    assert results[1][0] and "needs approval (approval_required)" in results[1][1], results[1]
    assert results[2][0] and "needs approval (approval_required)" in results[2][1], results[2]
    assert ran == [Decimal("50")]
