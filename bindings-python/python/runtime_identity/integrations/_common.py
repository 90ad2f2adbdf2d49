"""What the integrations share: finding the identity and runtime of a call, the resource of a
call, and the text a model reads when a call is refused."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._native import Credential, Decision, Runtime
from ..context import Identity, current_identity, default_runtime
from ..exceptions import NoIdentityContext

#: A tool's resource: a template over its arguments (``"customer/{customer_id}"``), a function
#: of its arguments, or None.
ResourceSpec = "str | Callable[[Mapping[str, Any]], str] | None"


def resource_of(spec: str | Callable[[Mapping[str, Any]], str] | None, args: Mapping[str, Any]) -> str | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        return spec.format_map(dict(args))
    return spec(args)


def identity_from(context: Any, runtime: Runtime | None) -> Identity:
    """The identity in effect (``acting_as``), else a ``credential`` carried by a framework's
    run context (an attribute, or a key of a mapping)."""
    ident = current_identity()
    if ident is not None:
        return ident
    cred = getattr(context, "credential", None)
    if cred is None and isinstance(context, Mapping):
        cred = context.get("credential")
    if isinstance(cred, (Credential, str)):
        return Identity(cred, runtime)
    raise NoIdentityContext(
        "a guarded tool ran with no identity: run the agent inside `acting_as(cred)` "
        "or pass a `credential` in the run context"
    )


def runtime_for(ident: Identity, runtime: Runtime | None) -> Runtime:
    rt = runtime or ident.runtime
    if rt is None and isinstance(ident.credential, Credential):
        rt = ident.credential.runtime
    rt = rt or default_runtime()
    if rt is None:
        raise NoIdentityContext("no runtime to check the tool call with: pass runtime=...")
    return rt


def refusal(d: Decision) -> str:
    """What the model reads when a call is refused: the code and the reason, nothing secret."""
    if d.effect == "require_approval":
        return f"needs approval ({d.code}): {d.message}"
    return f"denied ({d.code}): {d.message}"
