"""An MCP server whose tools are checked with the calling agent's delegation token.

`protect(server, rt, ...)` wraps every tool call of an `mcp` 2.x `MCPServer`: the agent sends
its token in the call's `_meta` (`credential_meta(cred)`), the call runs as that agent, and a
refusal comes back as an MCP tool error whose text gives the reason. The server is driven by
the SDK's in-memory client in the same process (no network): support-bot's calls within its
grant get results; its sub-agent, whose grant only reads customer/42, is refused a refund and
another customer; a forged token and a call with no token are refused.
Run: `python examples/python/mcp_server.py`.
"""

from __future__ import annotations

import sys
from typing import Any

import anyio
from mcp import Client
from mcp.server.mcpserver import MCPServer
from runtime_identity import Credential, Runtime, Scope, guard
from runtime_identity.integrations.mcp import credential_meta, protect

ALICE = "user:alice@acme"


def crm_server(rt: Runtime) -> MCPServer:
    """The server side: two tools, one guarded by its own decorator, one by `protect`'s map."""
    server = MCPServer("crm", log_level="WARNING")  # refusals are printed below, not logged

    @server.tool()
    @guard("payments.refund", resource="customer/{customer_id}")
    def refund(customer_id: str, amount: float, currency: str = "USD") -> str:
        """Refund a customer."""
        return f"refunded {amount:g} {currency} to customer {customer_id}"

    @server.tool()
    async def read_customer(customer_id: str) -> str:
        """Read a customer record."""
        return f"customer {customer_id}: Ada Lovelace, 2 open tickets"

    return protect(server, rt, actions={"read_customer": "crm.read"}, resources={"read_customer": "customer/{customer_id}"})


async def calls(server: MCPServer, script: list[tuple[str, str, dict[str, Any], Credential | str | None]]) -> list[tuple[bool, str]]:
    """The client side: each call as `who` (a credential, a raw token, or none), printed as it goes."""
    results = []
    async with Client(server) as client:
        for who, tool, args, cred in script:
            meta = credential_meta(cred) if cred is not None else None
            r = await client.call_tool(tool, args, meta=meta)
            text = r.content[0].text  # type: ignore[union-attr]
            print(f"{who:<22} {tool}({', '.join(f'{k}={v!r}' for k, v in args.items())})")
            print(f"{'':<22} -> {'ERROR ' if r.is_error else ''}{text}")
            results.append((r.is_error, text))
    return results


def main() -> int:
    rt = Runtime.in_memory("org:acme")
    rt.register_agent("agent:acme/support-bot", owner=ALICE, org="acme")
    rt.register_agent("agent:acme/refund-helper", owner=ALICE, org="acme")
    cred = rt.delegate(
        to="agent:acme/support-bot", on_behalf_of=ALICE, ttl="15m",
        scopes=[Scope("crm.read", resources=["customer/*"]),
                Scope("payments.refund", resources=["customer/*"], constraints={"amount": {"max": 100}, "currency": {"eq": "USD"}})],
    )
    helper = cred.attenuate(to="agent:acme/refund-helper", scopes=[Scope("crm.read", resources=["customer/42"])])
    forged = cred.token[:-4] + ("AAAA" if not cred.token.endswith("AAAA") else "BBBB")  # signature broken
    print("support-bot: crm.read customer/*, refunds up to 100 USD; refund-helper: crm.read customer/42 only\n")

    script: list[tuple[str, str, dict[str, Any], Credential | str | None]] = [
        ("support-bot", "read_customer", {"customer_id": "42"}, cred),
        ("support-bot", "refund", {"customer_id": "42", "amount": 30}, cred),
        ("support-bot", "refund", {"customer_id": "42", "amount": 500}, cred),
        ("refund-helper", "read_customer", {"customer_id": "42"}, helper),
        ("refund-helper", "refund", {"customer_id": "42", "amount": 10}, helper),
        ("refund-helper", "read_customer", {"customer_id": "43"}, helper),
        ("forged token", "read_customer", {"customer_id": "42"}, forged),
        ("no token", "read_customer", {"customer_id": "42"}, None),
    ]
    results = anyio.run(calls, crm_server(rt), script)

    # The story must have happened as told (this file runs as a test).
    expected = [(False, "customer 42"), (False, "refunded 30 USD"), (True, "denied (constraint_violated)"),
                (False, "customer 42"), (True, "denied (action_not_granted)"), (True, "denied (resource_not_granted)"),
                (True, "denied (credential_invalid)"), (True, "denied (credential_invalid)")]
    for (is_error, text), (want_error, prefix) in zip(results, expected, strict=True):
        assert is_error == want_error and text.startswith(prefix), (text, prefix)

    report = rt.audit.verify()
    assert report["ok"], report
    decisions = rt.audit.events(type="decision")
    assert len(decisions) == len(script), "every call, even one without a token, is a recorded decision"
    assert [d.get("actor") for d in decisions if d["effect"] == "allow"] == ["agent:acme/support-bot"] * 2 + ["agent:acme/refund-helper"]
    print(f"\naudit log intact: {report['ok']} ({report['events']} events); the sub-agent's refused refund:")
    refused = [d for d in decisions if d.get("actor") == "agent:acme/refund-helper" and d["action"] == "payments.refund"][-1]
    print(rt.audit.explain(refused["decision_id"])["text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
