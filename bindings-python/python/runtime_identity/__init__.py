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
    REASON_CODES as _CORE_REASON_CODES,
    Audit,
    Credential,
    Decision,
    Receipt,
    Runtime,
    Scope,
    __version__,
    verify_audit_log,
)
from ._reason import Reason
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

#: Every reason code a Decision can carry (read from the core at import).
REASON_CODES: Final[tuple[str, ...]] = tuple(_CORE_REASON_CODES)

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
    "Reason",
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
