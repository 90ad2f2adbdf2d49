"""The identity a guarded call acts as, carried by :mod:`contextvars`.

``with acting_as(cred):`` (or ``async with``) sets it for the block; nested blocks restore the
outer identity on exit. It follows ``asyncio`` tasks (each copies the context when created),
``loop.run_in_executor`` / ``contextvars.copy_context().run`` in threads, and generators
iterated inside the block — and never crosses between concurrent requests, because each task
or copied context has its own value.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from ._native import Credential, Runtime

__all__ = ["Identity", "acting_as", "current_identity", "set_default_runtime", "default_runtime"]


@dataclass(frozen=True, init=False)
class Identity:
    """Who a guarded call acts as: a credential (or a token as received), the runtime that
    checks it, and an optional call context (``txn``, ``env``, ``risk``)."""

    credential: Credential | str
    runtime: Runtime | None = None
    context: dict[str, Any] | None = None

    def __init__(
        self,
        credential: Credential | str,
        runtime: Runtime | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        # Made on every ``with acting_as(...)``: the fields go straight into the instance
        # dict, which is half the cost of a frozen dataclass's generated ``__init__``.
        fields = self.__dict__
        fields["credential"] = credential
        fields["runtime"] = runtime
        fields["context"] = context

    def __repr__(self) -> str:
        cred = self.credential if isinstance(self.credential, Credential) else "<token>"
        return f"Identity({cred!r})"


_current: contextvars.ContextVar[Identity | None] = contextvars.ContextVar("runtime_identity", default=None)
_default_runtime: Runtime | None = None


def current_identity() -> Identity | None:
    """The identity in effect here, or None."""
    return _current.get()


def set_default_runtime(runtime: Runtime | None) -> None:
    """The runtime guarded calls use when neither ``guard`` nor ``acting_as`` names one and the
    credential is a token string."""
    global _default_runtime
    _default_runtime = runtime


def default_runtime() -> Runtime | None:
    """The runtime set by :func:`set_default_runtime`."""
    return _default_runtime


class acting_as:
    """Act as ``cred`` inside the block (``with`` or ``async with``).

    ``runtime`` defaults to the credential's own runtime; ``context`` (e.g.
    ``{"txn": run_id}``) is passed to every check in the block.
    """

    __slots__ = ("identity", "_tokens")

    def __init__(
        self,
        cred: Credential | str,
        runtime: Runtime | None = None,
        *,
        context: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(cred, (Credential, str)):
            raise TypeError("acting_as needs a Credential or a token string")
        self.identity = Identity(cred, runtime, context)
        self._tokens: list[contextvars.Token[Identity | None]] = []

    def __enter__(self) -> Identity:
        self._tokens.append(_current.set(self.identity))
        return self.identity

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _current.reset(self._tokens.pop())

    async def __aenter__(self) -> Identity:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
