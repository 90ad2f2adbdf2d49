"""Type stubs of the native module (checked against it by tests/test_stubs.py)."""

import datetime
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Literal, TypeAlias, final

from ._reason import Reason

_Json: TypeAlias = Any
_Effect: TypeAlias = Literal["allow", "deny", "require_approval"]
_Durability: TypeAlias = Literal["sync", "buffered"]
_Alg: TypeAlias = Literal["ES256", "EdDSA"]

__all__ = [
    "Audit",
    "Credential",
    "Decision",
    "ERROR_CLASSES",
    "ERROR_CODES",
    "EVENT_TYPES",
    "REASON_CODES",
    "Receipt",
    "Runtime",
    "Scope",
    "_GuardPlan",
    "__version__",
    "_snapshot",
    "verify_audit_log",
]

ERROR_CODES: Final[list[str]]
ERROR_CLASSES: Final[dict[str, str]]
REASON_CODES: Final[list[str]]
EVENT_TYPES: Final[list[str]]
__version__: Final[str]

def _snapshot(value: Any, name: str) -> Any: ...
def verify_audit_log(
    path: str | os.PathLike[str],
    *,
    issuer: str,
    jwks: Mapping[str, _Json],
    anchor: Mapping[str, _Json] | None = None,
) -> dict[str, _Json]: ...

@final
class Scope:
    def __new__(
        cls,
        actions: str | Sequence[str],
        resources: Sequence[str] | None = None,
        data_classes: Sequence[str] | None = None,
        constraints: Mapping[str, Mapping[str, _Json]] | None = None,
        limits: Mapping[str, _Json] | None = None,
    ) -> Scope: ...
    @staticmethod
    def from_dict(d: Mapping[str, _Json]) -> Scope: ...
    def to_dict(self) -> dict[str, _Json]: ...

@final
class Credential:
    @property
    def token(self) -> str: ...
    @property
    def runtime(self) -> Runtime | None: ...
    @property
    def grant_id(self) -> str: ...
    @property
    def expires_at(self) -> datetime.datetime: ...
    @property
    def expires_at_unix(self) -> int: ...
    @property
    def actor(self) -> str | None: ...
    @property
    def on_behalf_of(self) -> str: ...
    @property
    def agents(self) -> list[str]: ...
    @property
    def chain(self) -> list[dict[str, _Json]]: ...
    @property
    def scopes(self) -> list[Scope]: ...
    def attenuate(
        self,
        *,
        to: str,
        scopes: Scope | Mapping[str, _Json] | Iterable[Scope | Mapping[str, _Json]],
        ttl: int | str | None = None,
        purpose: str | None = None,
        max_depth: int | None = None,
        key: str | None = None,
    ) -> Credential: ...

@final
class Decision:
    @property
    def effect(self) -> _Effect: ...
    @property
    def allowed(self) -> bool: ...
    @property
    def code(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...
    @property
    def reasons(self) -> list[Reason]: ...
    @property
    def decision_id(self) -> str: ...
    @property
    def actor(self) -> str | None: ...
    @property
    def chain(self) -> list[str]: ...
    @property
    def on_behalf_of(self) -> str | None: ...
    @property
    def grant_id(self) -> str | None: ...
    @property
    def policies(self) -> list[str]: ...
    @property
    def approval_request(self) -> dict[str, _Json] | None: ...
    @property
    def proof(self) -> bool: ...
    @property
    def action(self) -> str: ...
    @property
    def resource(self) -> str: ...
    @property
    def decided_at_ms(self) -> int: ...
    def to_dict(self) -> dict[str, _Json]: ...
    def __bool__(self) -> bool: ...

@final
class Receipt:
    @property
    def token(self) -> str: ...
    @property
    def approval(self) -> dict[str, _Json]: ...
    @property
    def id(self) -> str: ...

@final
class Audit:
    def verify(self) -> dict[str, _Json]: ...
    def explain(self, decision_id: str) -> dict[str, _Json]: ...
    def events(
        self,
        *,
        since: datetime.datetime | float | None = None,
        until: datetime.datetime | float | None = None,
        actor: str | None = None,
        on_behalf_of: str | None = None,
        action: str | None = None,
        effect: _Effect | None = None,
        decision_id: str | None = None,
        type: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, _Json]]: ...
    def export_prov(
        self,
        *,
        since: datetime.datetime | float | None = None,
        until: datetime.datetime | float | None = None,
        actor: str | None = None,
        on_behalf_of: str | None = None,
        action: str | None = None,
        effect: _Effect | None = None,
    ) -> dict[str, _Json]: ...
    def flush(self) -> None: ...

@final
class Runtime:
    @staticmethod
    def open(
        path: str | os.PathLike[str] | None = None,
        *,
        issuer: str | None = None,
        durability: _Durability = "sync",
        alg: _Alg | None = None,
        default_ttl: int | str | None = None,
        max_ttl: int | str | None = None,
        require_permit: bool = False,
        require_proof: bool = False,
        checkpoint_every: int | None = None,
        record_args: Sequence[str] | None = None,
        fixed_time: int | None = None,
    ) -> Runtime: ...
    @staticmethod
    def in_memory(
        issuer: str | None = None,
        *,
        durability: _Durability = "sync",
        alg: _Alg | None = None,
        default_ttl: int | str | None = None,
        max_ttl: int | str | None = None,
        require_permit: bool = False,
        require_proof: bool = False,
        checkpoint_every: int | None = None,
        record_args: Sequence[str] | None = None,
        fixed_time: int | None = None,
    ) -> Runtime: ...
    def set_time(self, unix_seconds: int) -> None: ...
    @property
    def issuer(self) -> str: ...
    @property
    def audit(self) -> Audit: ...
    def register_agent(
        self,
        id: str,
        *,
        owner: str,
        attributes: Mapping[str, _Json] | None = None,
        max_delegation_depth: int | None = None,
        org: str | None = None,
        name: str | None = None,
        description: str | None = None,
        public_key: Mapping[str, _Json] | None = None,
        alg: _Alg | None = None,
    ) -> dict[str, _Json]: ...
    def get_agent(self, id: str) -> dict[str, _Json]: ...
    def list_agents(self, *, owner: str | None = None, status: str | None = None) -> list[dict[str, _Json]]: ...
    def suspend_agent(self, id: str) -> dict[str, _Json]: ...
    def resume_agent(self, id: str) -> dict[str, _Json]: ...
    def revoke_agent(self, id: str) -> dict[str, _Json]: ...
    def rotate_agent_key(
        self, id: str, public_key: Mapping[str, _Json] | None = None, *, compromised: bool = False
    ) -> dict[str, _Json]: ...
    def delegate(
        self,
        *,
        to: str,
        on_behalf_of: str,
        scopes: Scope | Mapping[str, _Json] | Iterable[Scope | Mapping[str, _Json]],
        ttl: int | str | None = None,
        purpose: str | None = None,
        max_depth: int | None = None,
    ) -> Credential: ...
    def attenuate(
        self,
        parent: Credential | str,
        *,
        to: str,
        scopes: Scope | Mapping[str, _Json] | Iterable[Scope | Mapping[str, _Json]],
        ttl: int | str | None = None,
        purpose: str | None = None,
        max_depth: int | None = None,
        key: str | None = None,
    ) -> Credential: ...
    def verify(self, token: str) -> Credential: ...
    def revoke(self, cred_or_grant_id: Credential | str) -> list[str]: ...
    def load_policies(self, text_or_path: str | os.PathLike[str]) -> int: ...
    def upsert_resource(
        self, id: str, *, data_class: str | None = None, attributes: Mapping[str, _Json] | None = None
    ) -> dict[str, _Json]: ...
    def check(
        self,
        cred: Credential | str,
        action: str,
        resource: str | None = None,
        args: Mapping[str, _Json] | None = None,
        context: Mapping[str, _Json] | None = None,
        approval: Receipt | str | None = None,
        proof: str | None = None,
    ) -> Decision: ...
    def _guard_run(
        self,
        cred: Credential | str,
        action: str,
        resource: str | None,
        args: Mapping[str, _Json] | None,
        context: Mapping[str, _Json] | None,
        func: Callable[..., Any],
        a: tuple[Any, ...],
        kw: dict[str, Any] | None = None,
    ) -> tuple[bool, Any]: ...
    def _guard_call(
        self,
        plan: _GuardPlan,
        cred: Credential | str,
        context: Mapping[str, _Json] | None,
        a: tuple[Any, ...],
        kw: dict[str, Any] | None = None,
    ) -> tuple[bool, Any] | None: ...
    def action_hash(
        self, cred: Credential | str, action: str, resource: str | None = None, args: Mapping[str, _Json] | None = None
    ) -> str: ...
    def record_outcome(
        self,
        decision_id: str,
        ok: bool,
        error: str | None = None,
        result_digest: str | None = None,
        duration: float | None = None,
    ) -> None: ...
    def approve(self, request_id: str, approver: str, *, attributes: dict[str, _Json] | None = None) -> Receipt: ...
    def deny_approval(
        self, request_id: str, approver: str, *, attributes: dict[str, _Json] | None = None
    ) -> dict[str, _Json]: ...
    def get_approval(self, request_id: str) -> dict[str, _Json]: ...
    def jwks(self) -> dict[str, _Json]: ...
    def authority_keys(self) -> list[dict[str, _Json]]: ...
    def rotate_authority_key(self, alg: _Alg | None = None) -> dict[str, _Json]: ...
    def import_authority_key(self, key: str | Mapping[str, _Json]) -> dict[str, _Json]: ...
    def close(self) -> None: ...
    def __enter__(self) -> Runtime: ...
    def __exit__(self, t: object, v: object, tb: object) -> bool: ...

@final
class _GuardPlan:
    """How a guarded tool's calls are bound (built by ``guard``)."""

    def __new__(
        cls,
        action: str,
        func: Callable[..., Any],
        positional: Sequence[str],
        keyword_only: Sequence[str],
        defaults: Mapping[str, Any],
        args: Sequence[str] | None,
        template: Sequence[str] | None,
    ) -> _GuardPlan: ...
