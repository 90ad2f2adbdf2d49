"""LangChain with the real packages and a scripted chat model (no network)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import ALICE, Scenario
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import StructuredTool, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from runtime_identity import Credential, Denied, NoIdentityContext, acting_as, guard
from runtime_identity.integrations.langchain import RuntimeIdentityMiddleware, guard_tool


class ScriptedModel(GenericFakeChatModel):
    """A chat model that answers with the given messages, tool calls included."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


def model(*turns: AIMessage) -> ScriptedModel:
    return ScriptedModel(messages=iter(list(turns)))


def call(name: str, args: dict[str, Any], i: int) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": f"call_{i}"}])


@tool
def refund(customer_id: str, amount: float, currency: str = "USD") -> str:
    """Refund a customer."""
    return f"refunded {amount} {currency} to {customer_id}"


@tool
def read_customer(customer_id: str) -> str:
    """Read a customer record."""
    return f"customer {customer_id}: Ada"


def test_guard_tool_allows_denies_and_reports(scenario: Scenario) -> None:
    guarded = guard_tool(refund, "payments.refund", resource="customer/{customer_id}")
    assert guarded.name == "refund" and guarded.args_schema is refund.args_schema
    with acting_as(scenario.cred):
        assert guarded.invoke({"customer_id": "42", "amount": 10}) == "refunded 10.0 USD to 42"
        text = guarded.invoke({"customer_id": "42", "amount": 500})
        assert text.startswith("denied (constraint_violated)")
        msg = guarded.invoke({"name": "refund", "args": {"customer_id": "77", "amount": 5}, "id": "c1", "type": "tool_call"})
        assert isinstance(msg, ToolMessage) and msg.status == "error" and "policy_forbid" in str(msg.content)
    with pytest.raises(NoIdentityContext):
        guarded.invoke({"customer_id": "42", "amount": 10})
    raising = guard_tool(refund, "payments.refund", resource="customer/{customer_id}", on_deny="raise")
    with acting_as(scenario.cred), pytest.raises(Denied):
        raising.invoke({"customer_id": "42", "amount": 500})


def test_guard_tool_on_an_async_structured_tool(scenario: Scenario) -> None:
    async def lookup(customer_id: str) -> str:
        """Look a customer up."""
        return f"found {customer_id}"

    st = StructuredTool.from_function(coroutine=lookup, name="lookup", description="Look a customer up.")
    guarded = guard_tool(st, "crm.read", resource="customer/{customer_id}")

    async def main() -> tuple[str, str]:
        async with acting_as(scenario.cred):
            return await guarded.ainvoke({"customer_id": "42"}), await guarded.ainvoke({"customer_id": "77"})

    ok, refused = asyncio.run(main())
    assert ok == "found 42" and refused.startswith("denied (policy_forbid)")


def test_a_guarded_function_under_tool_keeps_its_schema(scenario: Scenario) -> None:
    @tool
    @guard("crm.read", resource="customer/{customer_id}")
    def read(customer_id: str) -> str:
        """Read a customer."""
        return customer_id

    assert set(read.args) == {"customer_id"}
    with acting_as(scenario.cred):
        assert read.invoke({"customer_id": "42"}) == "42"


def middleware() -> RuntimeIdentityMiddleware:
    return RuntimeIdentityMiddleware(
        actions={"refund": "payments.refund", "read_customer": "crm.read"},
        resources={"refund": "customer/{customer_id}", "read_customer": "customer/{customer_id}"},
    )


def test_middleware_checks_every_tool_call_of_an_agent(scenario: Scenario) -> None:
    agent = create_agent(
        model(
            call("read_customer", {"customer_id": "42"}, 1),
            call("refund", {"customer_id": "42", "amount": 500}, 2),
            call("read_customer", {"customer_id": "77"}, 3),
            AIMessage("done"),
        ),
        [refund, read_customer],
        middleware=[middleware()],
    )
    with acting_as(scenario.cred):
        out = agent.invoke({"messages": [{"role": "user", "content": "help customer 42"}]})
    tool_msgs = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert [m.status for m in tool_msgs] == ["success", "error", "error"]
    assert tool_msgs[0].content == "customer 42: Ada"
    assert "constraint_violated" in str(tool_msgs[1].content) and "policy_forbid" in str(tool_msgs[2].content)
    assert out["messages"][-1].content == "done"
    decisions = scenario.rt.audit.events(type="decision")
    assert [d["effect"] for d in decisions] == ["allow", "deny", "deny"]
    assert scenario.rt.audit.events(type="outcome")[0]["outcome"]["status"] == "ok"


def test_middleware_maps_require_approval_to_an_interrupt(scenario: Scenario) -> None:
    agent = create_agent(
        model(call("refund", {"customer_id": "42", "amount": 90}, 1), AIMessage("refunded")),
        [refund],
        middleware=[middleware()],
        checkpointer=InMemorySaver(),
    )
    cfg: Any = {"configurable": {"thread_id": "t1"}}
    with acting_as(scenario.cred):
        out = agent.invoke({"messages": [{"role": "user", "content": "refund 90"}]}, cfg)
        (pending,) = out["__interrupt__"]
        assert pending.value["type"] == "runtime_identity.approval"
        assert pending.value["request"]["reason"].startswith("refunds over 80")
        assert pending.value["args"] == {"customer_id": "42", "amount": 90.0, "currency": "USD"}
        out = agent.invoke(Command(resume={"approved": True, "approver": ALICE}), cfg)
    tool_msgs = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert tool_msgs[-1].status == "success" and tool_msgs[-1].content == "refunded 90.0 USD to 42"
    kinds = [e["type"] for e in scenario.rt.audit.events()]
    assert "approval.granted" in kinds and "approval.consumed" in kinds


def test_middleware_refusal_of_an_approval(scenario: Scenario) -> None:
    agent = create_agent(
        model(call("refund", {"customer_id": "42", "amount": 95}, 1), AIMessage("ok")),
        [refund],
        middleware=[middleware()],
        checkpointer=InMemorySaver(),
    )
    cfg: Any = {"configurable": {"thread_id": "t2"}}
    with acting_as(scenario.cred):
        agent.invoke({"messages": [{"role": "user", "content": "refund 95"}]}, cfg)
        out = agent.invoke(Command(resume={"approved": False, "approver": ALICE}), cfg)
    msg = [m for m in out["messages"] if isinstance(m, ToolMessage)][-1]
    assert msg.status == "error" and "approval" in str(msg.content)
    assert "approval.denied" in [e["type"] for e in scenario.rt.audit.events()]


@dataclass
class RunContext:
    credential: Credential


def test_identity_from_the_agent_run_context(scenario: Scenario) -> None:
    agent = create_agent(
        model(call("read_customer", {"customer_id": "42"}, 1), AIMessage("done")),
        [read_customer],
        middleware=[middleware()],
        context_schema=RunContext,
    )
    out = agent.invoke({"messages": [{"role": "user", "content": "x"}]}, context=RunContext(scenario.cred))
    assert [m.status for m in out["messages"] if isinstance(m, ToolMessage)] == ["success"]
    # No identity at all: loud, never a silent allow.
    bare = create_agent(model(call("read_customer", {"customer_id": "42"}, 1), AIMessage("done")), [read_customer], middleware=[middleware()])
    with pytest.raises(NoIdentityContext):
        bare.invoke({"messages": [{"role": "user", "content": "x"}]})


def test_async_agent(scenario: Scenario) -> None:
    agent = create_agent(
        model(call("read_customer", {"customer_id": "42"}, 1), AIMessage("done")),
        [read_customer],
        middleware=[middleware()],
    )

    async def main() -> Any:
        async with acting_as(scenario.cred):
            return await agent.ainvoke({"messages": [{"role": "user", "content": "x"}]})

    out = asyncio.run(main())
    assert [m.status for m in out["messages"] if isinstance(m, ToolMessage)] == ["success"]
