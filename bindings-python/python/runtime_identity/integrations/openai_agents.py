"""OpenAI Agents SDK: guard ``function_tool``s, with ``require_approval`` as ``needs_approval``.

::

    gate = ToolGate(rt)
    refund_tool = gate.guard(refund_tool, "payments.refund", resource="customer/{customer_id}")
    result = await Runner.run(agent, "…", context=RunContext(credential=cred))  # or inside acting_as
    for item in result.interruptions:                 # calls that need a person
        gate.approve(state := result.to_state(), item, "user:alice@acme")
    result = await Runner.run(agent, state)

Each tool call is checked once, when the SDK asks ``needs_approval``; the tool then runs only
if that decision allows it — or, after ``gate.approve``, with the single-use receipt the
runtime issued for exactly that call. A refusal is what the model reads as the tool's output
(``on_deny="raise"`` raises :class:`~runtime_identity.Denied` instead).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Literal

from agents import FunctionTool, RunContextWrapper
from agents.tool_context import ToolContext

from .._native import Decision, Receipt, Runtime
from ..context import Identity, acting_as
from ..exceptions import ApprovalRequired, Denied, InvalidArgument
from ._common import identity_from, refusal, resource_of, runtime_for

__all__ = ["ToolGate"]


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique: ``{"amount": 500, "amount": 50}`` is refused, not
    read as its last value (another reader of the same text may take the first)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InvalidArgument("invalid_argument", f"tool arguments repeat the key `{key}`")
        out[key] = value
    return out


@dataclass
class _Checked:
    decision: Decision
    identity: Identity
    runtime: Runtime
    params: dict[str, Any]
    action: str
    resource: str | None
    receipt: Receipt | None = None


class ToolGate:
    """Guards function tools and approves their pending calls. One gate per runtime (or per
    agent); safe to share between concurrent runs."""

    def __init__(self, runtime: Runtime | None = None) -> None:
        self.runtime = runtime
        self._calls: dict[str, _Checked] = {}
        self._lock = threading.Lock()

    def _check(self, context: Any, action: str, resource: Any, params: dict[str, Any]) -> _Checked:
        ident = identity_from(context, self.runtime)
        rt = runtime_for(ident, self.runtime)
        res = resource_of(resource, params)
        d = rt.check(ident.credential, action, res, params, ident.context)
        return _Checked(d, ident, rt, params, action, res)

    def guard(
        self,
        tool: FunctionTool,
        action: str,
        *,
        resource: str | Callable[[Mapping[str, Any]], str] | None = None,
        on_deny: Literal["message", "raise"] = "message",
    ) -> FunctionTool:
        """``tool`` with every call checked as ``action``; ``resource`` is a template over the
        call's arguments or a function of them."""
        invoke = tool.on_invoke_tool

        async def needs_approval(ctx: RunContextWrapper[Any], params: dict[str, Any], call_id: str) -> bool:
            checked = self._check(ctx.context, action, resource, dict(params))
            with self._lock:
                self._calls[call_id] = checked
            return checked.decision.effect == "require_approval"

        async def on_invoke_tool(ctx: ToolContext[Any], json_args: str) -> Any:
            params: dict[str, Any] = json.loads(json_args, object_pairs_hook=_no_repeats) if json_args else {}
            with self._lock:
                checked = self._calls.pop(ctx.tool_call_id, None)
            if checked is None or checked.params != params:
                # Called without `needs_approval` (directly, or with other arguments): check now.
                checked = self._check(ctx.context, action, resource, params)
            d = checked.decision
            if d.effect == "require_approval" and checked.receipt is not None:
                d = checked.runtime.check(
                    checked.identity.credential,
                    action,
                    checked.resource,
                    params,
                    checked.identity.context,
                    checked.receipt,
                )
            if not d.allowed:
                if on_deny == "raise":
                    raise ApprovalRequired(d) if d.effect == "require_approval" else Denied(d)
                return refusal(d)
            rt = checked.runtime
            start = perf_counter()
            try:
                async with acting_as(checked.identity.credential, rt, context=checked.identity.context):
                    out = await invoke(ctx, json_args)
            except BaseException as e:
                rt.record_outcome(d.decision_id, False, error=type(e).__name__, duration=perf_counter() - start)
                raise
            rt.record_outcome(d.decision_id, True, duration=perf_counter() - start)
            return out

        tool.on_invoke_tool = on_invoke_tool
        tool.needs_approval = needs_approval
        return tool

    def _pending(self, item: Any) -> _Checked:
        call_id = getattr(item, "call_id", None) or getattr(getattr(item, "raw_item", None), "call_id", None)
        with self._lock:
            checked = self._calls.get(str(call_id))
        if checked is None or checked.decision.effect != "require_approval":
            raise ValueError(f"tool call {call_id!r} is not waiting for an approval from this gate")
        return checked

    def approve(self, state: Any, item: Any, approver: str) -> Receipt:
        """``approver`` (a ``user:`` principal) approves the pending call ``item`` of a run's
        ``state``: the runtime records it and issues the receipt that lets exactly this call
        run once."""
        checked = self._pending(item)
        request = checked.decision.approval_request or {}
        receipt = checked.runtime.approve(str(request.get("id", "")), approver)
        checked.receipt = receipt
        state.approve(item)
        return receipt

    def reject(self, state: Any, item: Any, approver: str, message: str | None = None) -> None:
        """``approver`` denies the pending call ``item``; the model reads ``message``."""
        checked = self._pending(item)
        request = checked.decision.approval_request or {}
        checked.runtime.deny_approval(str(request.get("id", "")), approver)
        state.reject(item, rejection_message=message or f"denied by {approver}")
