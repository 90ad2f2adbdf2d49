"""runtime-identity: identity, scoped delegation, runtime checks and tamper-evident audit for
AI agents.

>>> from runtime_identity import Runtime, Scope, guard, acting_as
>>> rt = Runtime.in_memory("org:acme")
>>> _ = rt.register_agent("agent:acme/bot", owner="user:alice@acme")
>>> cred = rt.delegate(to="agent:acme/bot", on_behalf_of="user:alice@acme",
...                    scopes=[Scope(["crm.read"], resources=["customer/*"])])
>>> @guard("crm.read", resource="customer/{customer_id}")
... def read_customer(customer_id: str) -> str:
...     return f"customer {customer_id}"
>>> with acting_as(cred):
...     read_customer("42")
'customer 42'
"""

from __future__ import annotations

from typing import Final

from . import exceptions
from ._native import (
    EVENT_TYPES as _CORE_EVENT_TYPES,
    Audit,
    Credential,
    Decision,
    Receipt,
    Runtime,
    Scope,
    __version__,
    verify_audit_log,
)
from .context import Identity, acting_as, current_identity, default_runtime, set_default_runtime
from .exceptions import (
    ERROR_CODES,
    AgentError,
    ApprovalError,
    ApprovalRequired,
    AuditError,
    DelegationError,
    Denied,
    InternalError,
    InvalidArgument,
    InvalidCredential,
    NoIdentityContext,
    PolicyError,
    RuntimeIdentityError,
    StoreError,
)
from .guard import ApprovalRequest, Guarded, guard

#: Every reason code a Decision can carry, as this package knows them.
REASON_CODES: Final[tuple[str, ...]] = (
    "granted",
    "approved",
    "credential_invalid",
    "credential_expired",
    "grant_revoked",
    "agent_suspended",
    "agent_revoked",
    "agent_unknown",
    "action_not_granted",
    "resource_not_granted",
    "data_class_not_granted",
    "constraint_violated",
    "argument_missing",
    "policy_forbid",
    "no_permit",
    "limit_max_uses",
    "limit_rate",
    "limit_budget",
    "limit_pending_approvals",
    "approval_required",
    "approval_invalid",
    "proof_required",
    "proof_invalid",
    "request_invalid",
    "internal_error",
)

#: Every audit event type.
EVENT_TYPES: Final[tuple[str, ...]] = tuple(_CORE_EVENT_TYPES)

__all__ = [
    "ERROR_CODES",
    "EVENT_TYPES",
    "REASON_CODES",
    "AgentError",
    "ApprovalError",
    "ApprovalRequest",
    "ApprovalRequired",
    "Audit",
    "AuditError",
    "Credential",
    "Decision",
    "DelegationError",
    "Denied",
    "Guarded",
    "Identity",
    "InternalError",
    "InvalidArgument",
    "InvalidCredential",
    "NoIdentityContext",
    "PolicyError",
    "Receipt",
    "Runtime",
    "RuntimeIdentityError",
    "Scope",
    "StoreError",
    "__version__",
    "acting_as",
    "current_identity",
    "default_runtime",
    "exceptions",
    "guard",
    "set_default_runtime",
    "verify_audit_log",
]
