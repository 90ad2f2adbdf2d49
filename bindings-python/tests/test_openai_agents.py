"""OpenAI Agents SDK with the real package and a scripted model (no network)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest
from agents import Agent, ModelResponse, Runner, Usage, function_tool, set_tracing_disabled
from agents.models.interface import Model
from agents.tool_context import ToolContext
from conftest import ALICE, Scenario
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText
from runtime_identity import Credential, Denied, InvalidArgument, NoIdentityContext, acting_as
from runtime_identity.integrations.openai_agents import ToolGate

set_tracing_disabled(True)


class ScriptedModel(Model):
    """Answers with the given turns: tool calls, then text."""

    def __init__(self, *turns: list[Any]) -> None:
        self.turns = list(turns)

    async def get_response(self, *a: Any, **kw: Any) -> ModelResponse:
        return ModelResponse(output=self.turns.pop(0), usage=Usage(), response_id=None)

    def stream_response(self, *a: Any, **kw: Any) -> Any:
        raise NotImplementedError


def call(name: str, args: dict[str, Any], cid: str) -> list[Any]:
    return [ResponseFunctionToolCall(type="function_call", name=name, arguments=json.dumps(args), call_id=cid, id=f"fc_{cid}", status="completed")]


def text(t: str) -> list[Any]:
    return [ResponseOutputMessage(type="message", id="m1", role="assistant", status="completed", content=[ResponseOutputText(type="output_text", text=t, annotations=[])])]


def refund_tool() -> Any:
    @function_tool
    def refund(customer_id: str, amount: float, currency: str = "USD") -> str:
        """Refund a customer.

        Args:
            customer_id: The customer.
            amount: How much.
            currency: Which currency.
        """
        return f"refunded {amount} {currency} to {customer_id}"

    return refund


@dataclass
class RunContext:
    credential: Credential


def outputs(result: Any) -> list[Any]:
    return [i.output for i in result.new_items if type(i).__name__ == "ToolCallOutputItem"]


def test_direct_invocation_allows_and_denies(scenario: Scenario) -> None:
    gate = ToolGate(scenario.rt)
    tool = gate.guard(refund_tool(), "payments.refund", resource="customer/{customer_id}")

    async def invoke(args: dict[str, Any]) -> Any:
        ctx = ToolContext(context=None, tool_name="refund", tool_call_id="c1", tool_arguments=json.dumps(args))
        return await tool.on_invoke_tool(ctx, json.dumps(args))

    async def main() -> tuple[Any, Any]:
        async with acting_as(scenario.cred):
            return await invoke({"customer_id": "42", "amount": 10, "currency": "USD"}), await invoke({"customer_id": "42", "amount": 500, "currency": "USD"})

    ok, refused = asyncio.run(main())
    assert ok == "refunded 10.0 USD to 42"
    assert refused.startswith("denied (constraint_violated)")
    with pytest.raises(NoIdentityContext):
        asyncio.run(invoke({"customer_id": "42", "amount": 1}))


def test_tool_arguments_repeating_a_key_are_refused(scenario: Scenario) -> None:
    gate = ToolGate(scenario.rt)
    tool = gate.guard(refund_tool(), "payments.refund", resource="customer/{customer_id}")
    text = '{"customer_id": "42", "amount": 500, "amount": 10, "currency": "USD"}'

    async def main() -> Any:
        async with acting_as(scenario.cred):
            ctx = ToolContext(context=None, tool_name="refund", tool_call_id="c9", tool_arguments=text)
            return await tool.on_invoke_tool(ctx, text)

    with pytest.raises(InvalidArgument, match="repeat the key `amount`"):
        asyncio.run(main())


def test_a_run_with_an_approval(scenario: Scenario) -> None:
    gate = ToolGate()
    tool = gate.guard(refund_tool(), "payments.refund", resource="customer/{customer_id}")

    async def main() -> tuple[Any, Any]:
        agent = Agent(
            name="support",
            model=ScriptedModel(
                call("refund", {"customer_id": "42", "amount": 20, "currency": "USD"}, "c1"),
                call("refund", {"customer_id": "42", "amount": 90, "currency": "USD"}, "c2"),
                text("done"),
            ),
            tools=[tool],
        )
        first = await Runner.run(agent, "refund twice", context=RunContext(scenario.cred))
        assert [i.call_id for i in first.interruptions] == ["c2"]
        state = first.to_state()
        receipt = gate.approve(state, first.interruptions[0], ALICE)
        assert receipt.approval["decided_by"] == ALICE
        second = await Runner.run(agent, state)
        return first, second

    first, second = asyncio.run(main())
    assert outputs(first) == ["refunded 20.0 USD to 42"]
    assert outputs(second)[-1] == "refunded 90.0 USD to 42" and second.final_output == "done"
    kinds = [e["type"] for e in scenario.rt.audit.events()]
    assert kinds.count("decision") == 3 and "approval.consumed" in kinds
    assert [o["outcome"]["status"] for o in scenario.rt.audit.events(type="outcome")] == ["ok", "ok"]


def test_a_rejected_approval_and_a_denied_call(scenario: Scenario) -> None:
    gate = ToolGate(scenario.rt)
    tool = gate.guard(refund_tool(), "payments.refund", resource="customer/{customer_id}")

    async def main() -> Any:
        agent = Agent(
            name="support",
            model=ScriptedModel(
                call("refund", {"customer_id": "77", "amount": 5, "currency": "USD"}, "c1"),
                call("refund", {"customer_id": "42", "amount": 95, "currency": "USD"}, "c2"),
                text("sorry"),
            ),
            tools=[tool],
        )
        async with acting_as(scenario.cred):
            first = await Runner.run(agent, "go")
            state = first.to_state()
            gate.reject(state, first.interruptions[0], ALICE, "not today")
            return first, await Runner.run(agent, state)

    first, second = asyncio.run(main())
    assert outputs(first)[0].startswith("denied (policy_forbid)")
    assert "not today" in str(outputs(second)[-1])
    assert "approval.denied" in [e["type"] for e in scenario.rt.audit.events()]
    with pytest.raises(ValueError):
        gate.approve(None, type("Item", (), {"call_id": "nope"})(), ALICE)


def test_on_deny_raise(scenario: Scenario) -> None:
    tool = ToolGate(scenario.rt).guard(refund_tool(), "payments.refund", resource="customer/{customer_id}", on_deny="raise")
    args = json.dumps({"customer_id": "77", "amount": 5})
    ctx = ToolContext(context=RunContext(scenario.cred), tool_name="refund", tool_call_id="c9", tool_arguments=args)
    with pytest.raises(Denied):
        asyncio.run(tool.on_invoke_tool(ctx, args))
