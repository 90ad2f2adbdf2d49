"""A LangChain agent (`create_agent`) whose every tool call is checked by runtime-identity.

The model is scripted (LangChain's fake chat model: no network, no API key). Inside the agent
loop it reads a customer (allowed), asks for a refund above its grant (denied: the model reads
the refusal as a tool error), refunds a PCI customer (denied by policy F01), and asks for a
refund of 90 USD, which policy A01 sends to a person: the graph pauses (a LangGraph
`interrupt`), alice approves, and the call runs once. Run: `python examples/python/langchain_agent.py`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from runtime_identity import Runtime, Scope, acting_as
from runtime_identity.integrations.langchain import RuntimeIdentityMiddleware

POLICIES = Path(__file__).resolve().parents[1] / "policies" / "scenario.cedar"
ALICE = "user:alice@acme"


class ScriptedModel(GenericFakeChatModel):
    """The fake chat model, answering turn by turn; tools are 'bound' by ignoring them."""

    prompts: list[list[BaseMessage]] = []  # what the model was shown, turn by turn

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.prompts.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def asks(n: int, name: str, **args: Any) -> AIMessage:
    """One model turn: a call of the tool `name`."""
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": f"call_{n}"}])


@tool
def read_customer(customer_id: str) -> str:
    """Read a customer record."""
    return f"customer {customer_id}: Ada Lovelace, 2 open tickets"


@tool
def refund(customer_id: str, amount: float, currency: str = "USD") -> str:
    """Refund a customer."""
    return f"refunded {amount:g} {currency} to customer {customer_id}"


def show(messages: list[BaseMessage], seen: int) -> list[ToolMessage]:
    """Prints the turns after the first `seen` messages; returns the tool answers among them."""
    answers = []
    for m in messages[seen:]:
        if isinstance(m, AIMessage):
            for tc in m.tool_calls:
                print(f"agent asks   {tc['name']}({', '.join(f'{k}={v!r}' for k, v in tc['args'].items())})")
            if m.content:
                print(f"agent says   {m.content}")
        elif isinstance(m, ToolMessage):
            print(f"tool answers [{m.status}] {m.content}")
            answers.append(m)
    return answers


def main() -> int:
    rt = Runtime.open(Path(tempfile.mkdtemp(prefix="rid-langchain-")) / "rt", issuer="org:acme")
    rt.register_agent("agent:acme/support-bot", owner=ALICE, org="acme")
    rt.upsert_resource("customer/42", data_class="internal")
    rt.upsert_resource("customer/77", data_class="pci")
    rt.load_policies(str(POLICIES))  # F01: no PCI data; A01: refunds over 80 need a person
    cred = rt.delegate(
        to="agent:acme/support-bot", on_behalf_of=ALICE, ttl="15m", purpose="ticket 4711",
        scopes=[Scope("crm.read", resources=["customer/*"]),
                Scope("payments.refund", resources=["customer/*"], constraints={"amount": {"max": 100}, "currency": {"eq": "USD"}})],
    )
    print(f"alice grants support-bot: crm.read, and payments.refund up to 100 USD (grant {cred.grant_id})\n")

    model = ScriptedModel(messages=iter([
        asks(1, "read_customer", customer_id="42"),
        asks(2, "refund", customer_id="42", amount=500),
        asks(3, "refund", customer_id="77", amount=20),
        asks(4, "refund", customer_id="42", amount=90),
        AIMessage("Refunded 90 USD to customer 42 after alice's approval."),
    ]))
    guard = RuntimeIdentityMiddleware(
        actions={"read_customer": "crm.read", "refund": "payments.refund"},
        resources={"read_customer": "customer/{customer_id}", "refund": "customer/{customer_id}"},
    )
    agent = create_agent(model, [read_customer, refund], middleware=[guard], checkpointer=InMemorySaver())
    thread: Any = {"configurable": {"thread_id": "ticket-4711"}}

    with acting_as(cred, context={"txn": "ticket-4711"}):
        out = agent.invoke({"messages": [{"role": "user", "content": "Customer 42 was double charged; sort it out."}]}, thread)
        answers = show(out["messages"], 1)
        pending = out.get("__interrupt__")  # the graph stopped before the 90 USD refund
        assert pending, "the story did not happen as told: the 90 USD refund waits for a person"
        ask = pending[0].value
        print(f"\n-- paused: {ask['actor']} wants {ask['action']} on {ask['resource']} {ask['args']}")
        print(f"-- reason: {ask['request']['reason']}; alice approves\n")
        seen = len(out["messages"])
        out = agent.invoke(Command(resume={"approved": True, "approver": ALICE}), thread)
        answers += show(out["messages"], seen)

    # The story must have happened as told (this file runs as a test).
    got = [(m.status, str(m.content).split(":")[0]) for m in answers]
    assert got == [
        ("success", "customer 42"),
        ("error", "denied (constraint_violated)"),
        ("error", "denied (policy_forbid)"),
        ("success", "refunded 90 USD to customer 42"),
    ], got
    assert str(model.prompts[2][-1].content).startswith("denied (constraint_violated)"), "the model read the refusal"
    decisions = [(e["effect"], e["reasons"][0]["code"]) for e in rt.audit.events(type="decision")]
    # (On resume the middleware checks the paused call again and finds the same pending request.)
    assert [d for d in decisions if d[0] != "require_approval"] == [
        ("allow", "granted"), ("deny", "constraint_violated"), ("deny", "policy_forbid"), ("allow", "approved")
    ], decisions
    assert [e["approver"] for e in rt.audit.events(type="approval.granted")] == [ALICE]

    report = rt.audit.verify()
    assert report["ok"], report
    print(f"\naudit log intact: {report['ok']} ({report['events']} events); the approved refund:")
    print(rt.audit.explain(rt.audit.events(type="decision", effect="allow")[-1]["decision_id"])["text"])
    rt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
