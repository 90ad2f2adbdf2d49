"""Exceptions. Every one is a :class:`RuntimeIdentityError` with a stable ``code``.

Errors raised by the core carry the core's error code (see ``ERROR_CODES``); the class is
chosen by :func:`_from_core`, the one conversion every native call goes through.
:class:`Denied` and :class:`ApprovalRequired` carry the :class:`~runtime_identity.Decision`
whose first reason code is their ``code``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from . import _native

if TYPE_CHECKING:
    from ._native import Decision

__all__ = [
    "ERROR_CODES",
    "AgentError",
    "ApprovalError",
    "ApprovalRequired",
    "AuditError",
    "DelegationError",
    "Denied",
    "InternalError",
    "InvalidArgument",
    "InvalidCredential",
    "NoIdentityContext",
    "PolicyError",
    "RuntimeIdentityError",
    "StoreError",
]


class RuntimeIdentityError(Exception):
    """The root of every error of this package. ``code`` is stable; ``message`` explains."""

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message


class InvalidCredential(RuntimeIdentityError):
    """A token is malformed, badly signed, expired, revoked, or breaks a chain rule, or an
    agent in its chain is suspended or revoked."""


class DelegationError(RuntimeIdentityError):
    """A grant would be wider or deeper than its parent allows."""


class AgentError(RuntimeIdentityError):
    """An agent is unknown, or the id is taken."""


class InvalidArgument(RuntimeIdentityError, ValueError):
    """An argument is malformed or too large (ids, scopes, ttls, keys, issuers)."""


class PolicyError(RuntimeIdentityError):
    """A Cedar policy set does not parse or validate; the previous set stays in force."""


class ApprovalError(RuntimeIdentityError):
    """An approval request is unknown, already decided, expired, or the approver is not a user
    (``approval_invalid``), or the person may not decide it (``approver_not_allowed``)."""


class StoreError(RuntimeIdentityError):
    """The runtime folder cannot be read or written, or holds data this version cannot read."""


class AuditError(RuntimeIdentityError):
    """The audit log cannot be written, or is corrupt."""


class InternalError(RuntimeIdentityError):
    """A bug or an unexpected state; the operation was refused."""


class Denied(RuntimeIdentityError):
    """A guarded call was denied. ``decision`` says why; ``code`` is its first reason code."""

    decision: Decision

    def __init__(self, decision: Decision) -> None:
        code = decision.code or "denied"
        super().__init__(code, f"{decision.action} on {decision.resource} denied: {decision.message}")
        self.decision = decision


class ApprovalRequired(RuntimeIdentityError):
    """A guarded call needs a person's approval first. ``request`` is the approval request
    (``id``, ``action_hash``, ``expires_at``, ``reason``) to hand to an approver."""

    decision: Decision
    request: dict[str, Any]

    def __init__(self, decision: Decision) -> None:
        super().__init__("approval_required", f"{decision.action} on {decision.resource}: {decision.message}")
        self.decision = decision
        self.request = dict(decision.approval_request or {})


class NoIdentityContext(RuntimeIdentityError):
    """A guarded call ran with no identity: wrap it in ``acting_as(cred)`` or use
    ``guarded.call_as(cred, ...)``. Never a silent allow."""

    def __init__(self, message: str) -> None:
        super().__init__("no_identity_context", message)


#: The core's error codes (read from the core at import).
ERROR_CODES: Final[tuple[str, ...]] = tuple(_native.ERROR_CODES)

# The class of each code: the core names it (`ErrorCode::class_name`, without the `Error`
# suffix); this module only holds the classes.
_CLASSES: Final[dict[str, type[RuntimeIdentityError]]] = {
    c.__name__.removesuffix("Error"): c
    for c in (
        InvalidCredential,
        DelegationError,
        AgentError,
        InvalidArgument,
        PolicyError,
        ApprovalError,
        StoreError,
        AuditError,
        InternalError,
    )
}
_CLASS_OF: Final[dict[str, type[RuntimeIdentityError]]] = {
    code: _CLASSES.get(name, InternalError) for code, name in _native.ERROR_CLASSES.items()
}


def _from_core(code: str, message: str) -> RuntimeIdentityError:
    """The exception for a core error (called by the native module for every error)."""
    return _CLASS_OF.get(code, InternalError)(code, message)
