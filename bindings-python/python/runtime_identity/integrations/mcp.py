"""MCP (the ``mcp`` package, 2.x ``MCPServer``): check every tool call with the credential of
the agent that makes it.

Server::

    server = protect(MCPServer("crm"), rt, actions={"refund": "payments.refund"},
                     resources={"refund": "customer/{customer_id}"})

Client::

    await client.call_tool("refund", {...}, meta=credential_meta(cred))

The agent sends its delegation token in the call's ``_meta`` (``runtime-identity/token``);
over HTTP with MCP auth, the bearer access token is used when ``_meta`` has none. Each call
runs inside ``acting_as(token, rt)``: a tool function decorated with ``@guard`` checks itself
(with its own action and resource template); any other tool is checked here as
``actions.get(name, name)`` with the call's arguments. A call without a credential, or
refused, is an MCP tool error (``is_error``) whose text gives the reason code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from time import perf_counter
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from .._native import Credential, Runtime
from ..context import acting_as
from ..exceptions import ApprovalRequired, Denied
from ._common import refusal, resource_of

__all__ = ["TOKEN_META_KEY", "credential_meta", "protect"]

#: The `_meta` key that carries the calling agent's delegation token.
TOKEN_META_KEY = "runtime-identity/token"


def credential_meta(cred: Credential | str) -> dict[str, str]:
    """The `_meta` for a tool call made as ``cred``."""
    return {TOKEN_META_KEY: cred.token if isinstance(cred, Credential) else cred}


def _token(context: Any) -> str | None:
    meta = getattr(getattr(context, "request_context", None), "meta", None)
    if isinstance(meta, Mapping) and isinstance(meta.get(TOKEN_META_KEY), str):
        return str(meta[TOKEN_META_KEY])
    try:
        from mcp.server.auth.middleware.auth_context import get_access_token
    except ImportError:  # pragma: no cover - auth is part of the package
        return None
    access = get_access_token()
    return access.token if access is not None else None


def protect(
    server: MCPServer,
    runtime: Runtime,
    *,
    actions: Mapping[str, str] | Callable[[str], str] | None = None,
    resources: Mapping[str, str | Callable[[Mapping[str, Any]], str]] | None = None,
) -> MCPServer:
    """Makes every tool call of ``server`` checked with the caller's credential."""
    inner = server.call_tool
    resources = dict(resources or {})

    def action_of(name: str) -> str:
        if actions is None:
            return name
        if callable(actions):
            return actions(name)
        return actions.get(name, name)

    def guarded_action(name: str) -> str | None:
        """The action a `@guard`-ed tool checks itself with; None for other tools."""
        tool = server._tool_manager.get_tool(name)
        action = getattr(getattr(tool, "fn", None), "__runtime_identity_action__", None)
        return action if isinstance(action, str) else None

    async def call_tool(name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        token = _token(context)
        if token is None:
            # Decided (and recorded) by the core like any other refusal.
            action = guarded_action(name) or action_of(name)
            d = runtime.check("", action, resource_of(resources.get(name), arguments), arguments)
            raise ToolError(f"{refusal(d)} — the call carries no credential in `_meta[{TOKEN_META_KEY!r}]`")
        async with acting_as(token, runtime):
            if guarded_action(name) is not None:
                try:
                    return await inner(name, arguments, context)
                except (Denied, ApprovalRequired) as e:
                    raise ToolError(refusal(e.decision)) from e
                except ToolError as e:
                    cause = e.__cause__
                    if isinstance(cause, (Denied, ApprovalRequired)):
                        raise ToolError(refusal(cause.decision)) from cause
                    raise
            d = runtime.check(token, action_of(name), resource_of(resources.get(name), arguments), arguments)
            if not d.allowed:
                raise ToolError(refusal(d))
            start = perf_counter()
            try:
                out = await inner(name, arguments, context)
            except BaseException as e:
                runtime.record_outcome(d.decision_id, False, error=type(e).__name__, duration=perf_counter() - start)
                raise
            runtime.record_outcome(d.decision_id, True, duration=perf_counter() - start)
            return out

    server.call_tool = call_tool  # type: ignore[method-assign]
    return server
