"""The identity a guarded call acts as, carried by :mod:`contextvars`.

``with acting_as(cred):`` (or ``async with``) sets it for the block; nested blocks restore the
outer identity on exit. It follows ``asyncio`` tasks (each copies the context when created),
``loop.run_in_executor`` / ``contextvars.copy_context().run`` in threads, and generators
iterated inside the block — and never crosses between concurrent requests, because each task
or copied context has its own value.

Generators: a generator runs in its consumer's context, so a block entered *inside* a
generator (``with acting_as(admin): yield ...``) would stay in force for the consumer between
``next()`` calls. Such an identity is only in force while its generator runs (its own code and
what it calls); read anywhere else — the consumer between items, or a task or thread started
from the block, which should enter ``acting_as`` itself — it raises
:class:`~runtime_identity.exceptions.NoIdentityContext`. Keep ``yield`` outside the block, or
let the consumer enter the block. Context managers written as
generators (``@contextmanager``, ``ExitStack``) are not affected: their block is the caller's.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

from ._native import Credential, Runtime
from .exceptions import NoIdentityContext

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


#: Code flags of a generator and of an async generator (``inspect.CO_GENERATOR`` and
#: ``inspect.CO_ASYNC_GENERATOR``).
_GENERATOR_FLAGS = 0x20 | 0x200
#: Frames of ``contextlib`` (``ExitStack``, ``@contextmanager``) enter blocks for their caller.
_CONTEXTLIB = contextlib.__file__


def _owner(frame: FrameType | None) -> FrameType | None:
    """The generator whose code entered a block from ``frame`` (the frame running the
    ``with``), or None when that code is a function or coroutine. ``contextlib`` frames and
    generators it drives (``@contextmanager``) act for the frame that entered them."""
    while frame is not None:
        code = frame.f_code
        if code.co_filename == _CONTEXTLIB:
            frame = frame.f_back
        elif code.co_flags & _GENERATOR_FLAGS:
            back = frame.f_back
            if back is None or back.f_code.co_filename != _CONTEXTLIB:
                return frame
            frame = back
        else:
            return None
    return None


class _GeneratorIdentity(Identity):
    """An identity entered inside a generator: in force while that generator runs; read by
    anyone else (the consumer between items, a task or thread started from the block) it
    raises NoIdentityContext."""

    @property
    def credential(self) -> Credential | str:
        fields = self.__dict__
        if not _runs(fields["_owner"]):
            name = fields["_owner"].f_code.co_name
            raise NoIdentityContext(
                f"the identity in force was set inside the generator `{name}`, which is not running: "
                "a generator shares its consumer's context, so `with acting_as(...)` around a `yield` "
                "would act as that identity between items. Keep `yield` outside the block, or enter "
                "`acting_as` in the consumer"
            )
        cred: Credential | str = fields["credential"]
        return cred

    def __repr__(self) -> str:
        cred = self.__dict__["credential"]
        return f"Identity({cred if isinstance(cred, Credential) else '<token>'!r})"


def _runs(owner: FrameType) -> bool:
    """Whether code running here may use an identity entered by ``owner``: the generator is
    on the stack. (A task or thread started inside the block is refused too: nothing tells
    its copy of the context from one made by the consumer between items.)"""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        if frame is owner:
            return True
        frame = frame.f_back
    return False


class acting_as:
    """Act as ``cred`` inside the block (``with`` or ``async with``).

    ``runtime`` defaults to the credential's own runtime; ``context`` (e.g.
    ``{"txn": run_id}``) is passed to every check in the block.

    Inside a generator, the identity is in force only while the generator runs: a guarded
    call made by its consumer between items (``with acting_as(admin): yield ...``) raises
    :class:`~runtime_identity.exceptions.NoIdentityContext` instead of acting as ``admin``, and
    a block that ends in another context than it began in (a generator resumed in another
    thread or task) raises it too.
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

    def _enter(self, frame: FrameType) -> Identity:
        ident = self.identity
        code = frame.f_code
        # The common case (a function or coroutine runs the `with`) costs two flag tests.
        if code.co_flags & _GENERATOR_FLAGS or code.co_filename == _CONTEXTLIB:
            owner = _owner(frame)
            if owner is not None:
                ident = _GeneratorIdentity(ident.credential, ident.runtime, ident.context)
                ident.__dict__["_owner"] = owner
        self._tokens.append(_current.set(ident))
        return ident

    def __enter__(self) -> Identity:
        return self._enter(sys._getframe(1))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        token = self._tokens.pop()
        try:
            _current.reset(token)
        except ValueError:
            # Began in one context, ends in another (a generator resumed elsewhere): the
            # identity stays set where it began, and is refused there (its generator is gone).
            raise NoIdentityContext(
                "`acting_as` ended in another context than it began in (a generator resumed in "
                "another thread or task?): its identity is not in force here, and is refused where "
                "it began"
            ) from None

    async def __aenter__(self) -> Identity:
        return self._enter(sys._getframe(1))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
