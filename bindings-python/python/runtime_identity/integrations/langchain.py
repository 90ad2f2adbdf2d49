"""LangChain: guard one tool, or every tool call of an agent with one middleware.

``guard_tool(tool, "crm.read", resource="customer/{customer_id}")`` returns the tool with its
function (and coroutine) guarded; a refusal becomes a tool error the model can read
(``on_deny="raise"`` propagates :class:`~runtime_identity.Denied` instead).

``RuntimeIdentityMiddleware(runtime, actions={...}, resources={...})`` for
``langchain.agents.create_agent(..., middleware=[...])`` checks every tool call the model
makes, answers a refusal with an error ``ToolMessage``, and turns ``require_approval`` into a
LangGraph ``interrupt`` (resume with ``Command(resume={"approved": True, "approver":
"user:…"})``, or ``{"receipt": token}``, or ``{"approved": False}``). The identity is the one
in effect (``acting_as``) or a ``credential`` in the agent's run context.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from time import perf_counter
from typing import Any, Literal

from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langgraph.types import Command, interrupt

from .._native import Decision, Receipt, Runtime
from ..context import Identity, acting_as
from ..exceptions import ApprovalRequired, Denied
from ..guard import guard
from ._common import identity_from, refusal, resource_of, runtime_for

__all__ = ["RuntimeIdentityMiddleware", "guard_tool"]


def guard_tool(
    tool: BaseTool,
    action: str,
    *,
    resource: str | Callable[..., str] | None = None,
    runtime: Runtime | None = None,
    on_deny: Literal["message", "raise"] = "message",
) -> StructuredTool:
    """``tool`` (a ``@tool`` or ``StructuredTool``) with every call checked as ``action``."""
    func = getattr(tool, "func", None)
    coroutine = getattr(tool, "coroutine", None)
    if func is None and coroutine is None:
        raise TypeError("guard_tool needs a tool built from a function (@tool or StructuredTool.from_function)")

    def refusing(fn: Callable[..., Any]) -> Callable[..., Any]:
        guarded = guard(action, resource=resource, runtime=runtime)(fn)
        if on_deny == "raise":
            return guarded

        @functools.wraps(fn)
        def run(*a: Any, **kw: Any) -> Any:
            try:
                return guarded(*a, **kw)
            except (Denied, ApprovalRequired) as e:
                raise ToolException(refusal(e.decision)) from e

        return run

    def arefusing(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        guarded = guard(action, resource=resource, runtime=runtime)(fn)
        if on_deny == "raise":
            return guarded

        @functools.wraps(fn)
        async def run(*a: Any, **kw: Any) -> Any:
            try:
                return await guarded(*a, **kw)
            except (Denied, ApprovalRequired) as e:
                raise ToolException(refusal(e.decision)) from e

        return run

    return StructuredTool.from_function(
        func=refusing(func) if func is not None else None,
        coroutine=arefusing(coroutine) if coroutine is not None else None,
        name=tool.name,
        description=tool.description,
        args_schema=tool.args_schema,
        return_direct=tool.return_direct,
        response_format=tool.response_format,
        handle_tool_error=True if on_deny == "message" else tool.handle_tool_error,
    )


class RuntimeIdentityMiddleware(AgentMiddleware):
    """Checks every tool call of an agent before it runs.

    ``actions`` maps tool names to actions (or is a function of the name; default: the name);
    ``resources`` maps tool names to a template over the call's arguments or a function of
    them. ``approval="interrupt"`` pauses the graph for a person (needs a checkpointer);
    ``"deny"`` answers with an error message instead.
    """

    def __init__(
        self,
        runtime: Runtime | None = None,
        *,
        actions: Mapping[str, str] | Callable[[str], str] | None = None,
        resources: Mapping[str, str | Callable[[Mapping[str, Any]], str]] | None = None,
        approval: Literal["interrupt", "deny"] = "interrupt",
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.actions = actions
        self.resources = dict(resources or {})
        self.approval = approval

    def _action(self, tool: str) -> str:
        if self.actions is None:
            return tool
        if callable(self.actions):
            return self.actions(tool)
        return self.actions.get(tool, tool)

    def _decide(self, request: Any) -> tuple[Decision, Identity, Runtime]:
        tc = request.tool_call
        name = str(tc["name"])
        args = _call_args(request)
        context = getattr(getattr(request, "runtime", None), "context", None)
        ident = identity_from(context, self.runtime)
        rt = runtime_for(ident, self.runtime)
        action = self._action(name)
        resource = resource_of(self.resources.get(name), args)
        d = rt.check(ident.credential, action, resource, args, ident.context)
        if d.effect == "require_approval" and self.approval == "interrupt":
            # On resume the node runs again from the top: the check above finds the same
            # pending request (same call, same action hash), and interrupt returns the answer.
            answer = interrupt(
                {
                    "type": "runtime_identity.approval",
                    "request": d.approval_request,
                    "tool": name,
                    "tool_call_id": tc.get("id"),
                    "args": args,
                    "action": action,
                    "resource": d.resource,
                    "actor": d.actor,
                    "on_behalf_of": d.on_behalf_of,
                }
            )
            receipt = _receipt(rt, d, answer)
            if receipt is not None:
                d = rt.check(ident.credential, action, resource, args, ident.context, receipt)
        return d, ident, rt

    def _refused(self, request: Any, d: Decision) -> ToolMessage:
        tc = request.tool_call
        return ToolMessage(content=refusal(d), tool_call_id=tc.get("id"), name=tc["name"], status="error")

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], ToolMessage | Command[Any]]) -> ToolMessage | Command[Any]:
        d, ident, rt = self._decide(request)
        if not d.allowed:
            return self._refused(request, d)
        start = perf_counter()
        try:
            with acting_as(ident.credential, rt, context=ident.context):
                out = handler(request)
        except BaseException as e:
            rt.record_outcome(d.decision_id, False, error=type(e).__name__, duration=perf_counter() - start)
            raise
        _record(rt, d, out, start)
        return out

    async def awrap_tool_call(
        self, request: Any, handler: Callable[[Any], Awaitable[ToolMessage | Command[Any]]]
    ) -> ToolMessage | Command[Any]:
        d, ident, rt = self._decide(request)
        if not d.allowed:
            return self._refused(request, d)
        start = perf_counter()
        try:
            async with acting_as(ident.credential, rt, context=ident.context):
                out = await handler(request)
        except BaseException as e:
            rt.record_outcome(d.decision_id, False, error=type(e).__name__, duration=perf_counter() - start)
            raise
        _record(rt, d, out, start)
        return out


def _call_args(request: Any) -> dict[str, Any]:
    """The arguments the tool will receive: the model's, validated by the tool's schema with
    its defaults filled in (so a defaulted argument is checked like a given one)."""
    raw: dict[str, Any] = dict(request.tool_call.get("args") or {})
    schema = getattr(getattr(request, "tool", None), "args_schema", None)
    validate = getattr(schema, "model_validate", None)
    if validate is None:
        return raw
    try:
        dumped: dict[str, Any] = validate(raw).model_dump(mode="json")
    except Exception:
        # Arguments the tool will refuse anyway: check them as the model sent them.
        return raw
    return dumped


def _record(rt: Runtime, d: Decision, out: Any, start: float) -> None:
    failed = isinstance(out, ToolMessage) and out.status == "error"
    rt.record_outcome(d.decision_id, not failed, error="ToolError" if failed else None, duration=perf_counter() - start)


def _receipt(rt: Runtime, d: Decision, answer: Any) -> Receipt | str | None:
    """The receipt a person's answer gives: approve through the runtime as ``approver``, or a
    receipt obtained elsewhere. Refusals and malformed answers give none."""
    if not isinstance(answer, Mapping):
        return None
    if isinstance(answer.get("receipt"), str):
        return str(answer["receipt"])
    request = d.approval_request or {}
    approver = answer.get("approver")
    if not isinstance(approver, str) or not request.get("id"):
        return None
    if answer.get("approved") is True:
        return rt.approve(str(request["id"]), approver)
    rt.deny_approval(str(request["id"]), approver)
    return None
