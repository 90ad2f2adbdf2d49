"""``@guard``: check a tool call before it runs, record what it did after.

One decorator for plain functions, ``async def`` functions, generators and async generators.
The identity comes from :func:`~runtime_identity.acting_as` (or ``guarded.call_as(cred, ...)``);
without one the call raises :class:`~runtime_identity.exceptions.NoIdentityContext`.

The tool receives what was checked: each argument checked (and each one the resource template
names) is converted once — the built-in JSON types exactly as they are; subclasses of them as
plain copies of the value they store; ``Decimal``, ``Enum``, ``UUID``, ``datetime`` and
``date`` by the rules of ``_values.py`` — and that conversion is checked, fills the template
and is what the tool is called with. An argument of any other type is refused
(:class:`~runtime_identity.exceptions.InvalidArgument`, naming it), never left out: ``args=``
is the way to leave one out.
"""

from __future__ import annotations

import functools
import inspect
import string
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, cast

from ._native import Credential, Decision, Receipt, Runtime, _GuardPlan, _snapshot
from .context import Identity, acting_as, current_identity, default_runtime
from .exceptions import ApprovalRequired, Denied, InvalidArgument, NoIdentityContext, RuntimeIdentityError

__all__ = ["ApprovalRequest", "Guarded", "guard"]

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

#: Parameters never sent as arguments by default (bound methods' receivers).
_RECEIVERS = frozenset({"self", "cls"})
#: A call's parts: the resource, the arguments checked, and the call the tool receives.
_Request = tuple["str | None", dict[str, Any], tuple[Any, ...], dict[str, Any]]


@dataclass
class ApprovalRequest:
    """A call waiting for a person: handed to ``on_approval``. ``approve(approver)`` asks the
    runtime for the receipt (only a ``user:`` principal may approve)."""

    id: str
    reason: str
    expires_at: int
    action_hash: str
    decision: Decision
    runtime: Runtime = field(repr=False)

    @property
    def action(self) -> str:
        return self.decision.action

    @property
    def resource(self) -> str:
        return self.decision.resource

    @property
    def actor(self) -> str | None:
        return self.decision.actor

    def approve(self, approver: str, *, attributes: dict[str, Any] | None = None) -> Receipt:
        """Approves the request as ``approver`` (with the ``attributes`` approval rules read);
        returns the single-use receipt."""
        return self.runtime.approve(self.id, approver, attributes=attributes)

    def deny(self, approver: str, *, attributes: dict[str, Any] | None = None) -> None:
        """Denies the request as ``approver``."""
        self.runtime.deny_approval(self.id, approver, attributes=attributes)


#: ``on_approval(request)`` returns a Receipt (or its token) to proceed, or None to refuse.
OnApproval = Callable[[ApprovalRequest], "Receipt | str | None | Awaitable[Receipt | str | None]"]


class Guarded(Protocol[P, R_co]):
    """A guarded function: call it inside ``acting_as``, or with ``call_as(cred, ...)``."""

    @property
    def __wrapped__(self) -> Callable[P, R_co]: ...

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def call_as(self, cred: Credential | str, *args: P.args, **kwargs: P.kwargs) -> R_co: ...


def _plain_template(template: str) -> list[str] | None:
    """``"a/{x}/b"`` as ``["a/", "x", "/b"]`` when every field is a bare name (no index,
    attribute, conversion or format spec); None otherwise (str.format is used)."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return None
    parts = [""]
    for literal, name, spec, conversion in parsed:
        parts[-1] += literal
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            return None
        parts += [name, ""]
    return parts


def _template_roots(template: str) -> frozenset[str]:
    """The argument names a ``str.format`` template reads (``"{c.cid}/{x[0]}"``: c and x)."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    except ValueError:
        return frozenset()
    return frozenset(name.split(".", 1)[0].split("[", 1)[0] for name in fields)


class _Spec(Generic[P, R]):
    """What one guarded function checks, worked out once."""

    def __init__(
        self,
        fn: Callable[P, R],
        action: str,
        resource: str | Callable[..., str] | None,
        args: Callable[..., dict[str, Any]] | list[str] | tuple[str, ...] | None,
        runtime: Runtime | None,
        on_approval: OnApproval | None,
    ) -> None:
        if not isinstance(action, str):
            raise TypeError("guard(action): the action is a dotted name such as 'payments.refund'")
        self.fn = fn
        self.action = action
        self.resource = resource
        self.args = args
        self.runtime = runtime
        self.on_approval = on_approval
        self.sig = inspect.signature(fn)
        params = list(self.sig.parameters.values())
        kinds = {inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY}
        # Plain signatures bind without inspect (much faster); the rest use Signature.bind.
        self.simple = all(p.kind in kinds for p in params)
        self.names = frozenset(p.name for p in params)
        self.positional = [p.name for p in params if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD]
        self.defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
        self.receivers = self.names & _RECEIVERS
        # A template naming only whole arguments (`"customer/{customer_id}"`) is filled without
        # str.format: literal parts and argument names, alternating.
        self.template = _plain_template(resource) if isinstance(resource, str) else None
        self.template_roots = _template_roots(resource) if isinstance(resource, str) else frozenset()
        # Plain signatures with a plain template (or none) and args by name (or all): calls are
        # bound natively, by the same rules as `bind` and `request` below.
        self.plan: _GuardPlan | None = None
        fields = self.template[1::2] if self.template is not None else []
        if (
            self.simple
            and (resource is None or (self.template is not None and self.names.issuperset(fields)))
            and (args is None or (isinstance(args, (list, tuple)) and all(isinstance(k, str) for k in args)))
        ):
            self.plan = _GuardPlan(
                action,
                fn,
                self.positional,
                [p.name for p in params if p.kind == inspect.Parameter.KEYWORD_ONLY],
                self.defaults,
                None if args is None else [k for k in args if k in self.names],
                self.template,
            )

    def bind(self, a: tuple[Any, ...], kw: dict[str, Any]) -> tuple[dict[str, Any], inspect.BoundArguments | None]:
        """The call's arguments by name, defaults applied (a TypeError like the call's own),
        and for other than plain signatures the BoundArguments they come from."""
        if not self.simple:
            b = self.sig.bind(*a, **kw)
            b.apply_defaults()
            out: dict[str, Any] = {}
            for name, value in b.arguments.items():
                kind = self.sig.parameters[name].kind
                if kind == inspect.Parameter.VAR_KEYWORD:
                    out.update(value)
                elif kind == inspect.Parameter.VAR_POSITIONAL:
                    out[name] = list(value)
                else:
                    out[name] = value
            return out, b
        positional = self.positional
        if a:
            if len(a) > len(positional):
                raise TypeError(f"{self.fn.__name__}() takes {len(positional)} positional arguments but {len(a)} were given")
            bound = dict(zip(positional, a, strict=False))
        else:
            bound = {}
        if kw:
            if not kw.keys() <= self.names:
                k = next(k for k in kw if k not in self.names)
                raise TypeError(f"{self.fn.__name__}() got an unexpected keyword argument '{k}'")
            given = len(bound)
            bound.update(kw)
            if len(bound) != given + len(kw):
                # A keyword named an argument already given by position.
                k = next(k for k in positional[: len(a)] if k in kw)
                raise TypeError(f"{self.fn.__name__}() got multiple values for argument '{k}'")
        if len(bound) < len(self.names):
            bound = {**self.defaults, **bound}
            if len(bound) < len(self.names):
                missing = [n for n in positional if n not in bound] + [n for n in self.names if n not in bound]
                raise TypeError(f"{self.fn.__name__}() missing required argument '{missing[0]}'")
        return bound, None

    def call(self, a: tuple[Any, ...], kw: dict[str, Any], b: inspect.BoundArguments | None, copies: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The call with ``copies`` (by argument name) in place of the values given."""
        if b is None:
            n = len(a)
            new_a = tuple(copies.get(name, v) for name, v in zip(self.positional, a, strict=False))
            new_kw = {k: copies.get(k, v) for k, v in kw.items()}
            for k, v in copies.items():
                if k not in new_kw and k not in self.positional[:n]:
                    new_kw[k] = v  # a default that was copied
            return new_a, new_kw
        for name, value in b.arguments.items():
            kind = self.sig.parameters[name].kind
            if kind == inspect.Parameter.VAR_KEYWORD:
                b.arguments[name] = {k: copies.get(k, v) for k, v in value.items()}
            elif kind == inspect.Parameter.VAR_POSITIONAL:
                if name in copies:
                    b.arguments[name] = tuple(copies[name])
            elif name in copies:
                b.arguments[name] = copies[name]
        return b.args, b.kwargs

    def request(self, a: tuple[Any, ...], kw: dict[str, Any]) -> _Request:
        """The resource, the arguments to check, and the call the tool receives (the values
        checked: copies where they are not exactly what was given)."""
        if callable(self.args) and not isinstance(self.resource, str):
            # Both come from functions of the call: no binding needed; the tool gets the call.
            args = self.args(*a, **kw)
            resource = self.resource(*a, **kw) if self.resource is not None else None
            return resource, args, a, kw
        bound, b = self.bind(a, kw)
        # Each value checked or named by the template, converted once.
        values: dict[str, Any] = {}
        if self.args is None:
            for k, v in bound.items():
                if k not in self.receivers:
                    values[k] = _snapshot(v, k)
        elif not callable(self.args):
            for k in self.args:
                if k in bound:
                    values[k] = _snapshot(bound[k], k)
        checked = values
        for k in self.template_roots:
            if k in bound and k not in values:
                if checked is values:
                    checked = dict(values)
                try:
                    values[k] = _snapshot(bound[k], k)
                except InvalidArgument:
                    pass  # not a value a check holds: the template reads it as it is (`{c.cid}`)
        args = self.args(*a, **kw) if callable(self.args) else checked
        filled = {**bound, **values}
        if self.template is not None:
            parts = self.template
            if len(parts) == 3:
                v = filled[parts[1]]
                resource = parts[0] + (v if type(v) is str else format(v)) + parts[2]
            else:
                resource = parts[0] + "".join(format(filled[parts[i]]) + parts[i + 1] for i in range(1, len(parts), 2))
        elif self.resource is None:
            resource = None
        elif isinstance(self.resource, str):
            resource = self.resource.format_map(filled)
        else:
            resource = self.resource(*a, **kw)
        copies = {k: v for k, v in values.items() if v is not bound[k]}
        if copies:
            a, kw = self.call(a, kw, b, copies)
        return resource, args, a, kw

    def runtime_for(self, ident: Identity) -> Runtime:
        rt = self.runtime or ident.runtime
        if rt is None:
            cred = ident.credential
            rt = cred.runtime if isinstance(cred, Credential) else None
        rt = rt or default_runtime()
        if rt is None:
            raise NoIdentityContext(
                f"no runtime to check `{self.action}`: pass guard(runtime=...), acting_as(cred, runtime) "
                "or call set_default_runtime"
            )
        return rt

    def identity(self, ident: Identity | None) -> Identity:
        ident = ident or current_identity()
        if ident is None:
            raise NoIdentityContext(
                f"`{self.fn.__name__}` is guarded (`{self.action}`) but runs with no identity: "
                "call it inside `with acting_as(cred):` or use `.call_as(cred, ...)`"
            )
        return ident

    def first_check(self, ident: Identity, a: tuple[Any, ...], kw: dict[str, Any]) -> tuple[Decision, Runtime, _Request]:
        rt = self.runtime_for(ident)
        req = self.request(a, kw)
        d = rt.check(ident.credential, self.action, req[0], req[1], ident.context)
        return d, rt, req

    def after_approval(
        self, d: Decision, rt: Runtime, ident: Identity, resource: str | None, args: dict[str, Any], receipt: Receipt | str | None
    ) -> Decision:
        if not receipt:
            raise ApprovalRequired(d)
        again = rt.check(ident.credential, self.action, resource, args, ident.context, receipt)
        if not again.allowed:
            raise Denied(again)
        return again

    def prompt(self, d: Decision, rt: Runtime) -> ApprovalRequest:
        r = d.approval_request or {}
        return ApprovalRequest(
            id=str(r.get("id", "")),
            reason=str(r.get("reason", "")),
            expires_at=int(r.get("expires_at", 0)),
            action_hash=str(r.get("action_hash", "")),
            decision=d,
            runtime=rt,
        )

    def decide(self, ident: Identity, a: tuple[Any, ...], kw: dict[str, Any]) -> tuple[Decision, Runtime, _Request]:
        """The decision that lets the call run (or Denied / ApprovalRequired), and the call."""
        d, rt, req = self.first_check(ident, a, kw)
        if d.allowed:
            return d, rt, req
        return self.settle(d, rt, ident, req[0], req[1]), rt, req

    def ask(self, d: Decision, rt: Runtime) -> Any:
        """After a first check that did not allow: what ``on_approval`` answers (possibly
        awaitable), or Denied / ApprovalRequired when there is no one to ask."""
        if d.effect != "require_approval":
            raise Denied(d)
        if self.on_approval is None:
            raise ApprovalRequired(d)
        return self.on_approval(self.prompt(d, rt))

    def settle(self, d: Decision, rt: Runtime, ident: Identity, resource: str | None, args: dict[str, Any]) -> Decision:
        """After a first check that did not allow: raises Denied / ApprovalRequired, or returns
        the decision of the approved call."""
        receipt = self.ask(d, rt)
        if inspect.isawaitable(receipt):
            close = getattr(receipt, "close", None)
            if close is not None:
                close()
            raise TypeError("an async on_approval needs an async (or async generator) tool")
        return self.after_approval(d, rt, ident, resource, args, receipt)

    async def adecide(self, ident: Identity, a: tuple[Any, ...], kw: dict[str, Any]) -> tuple[Decision, Runtime, _Request]:
        d, rt, req = self.first_check(ident, a, kw)
        if d.allowed:
            return d, rt, req
        receipt = self.ask(d, rt)
        if inspect.isawaitable(receipt):
            receipt = await receipt
        return self.after_approval(d, rt, ident, req[0], req[1], receipt), rt, req


def _record(rt: Runtime, d: Decision, start: float, error: BaseException | None) -> None:
    """Records the outcome; a failure to record never replaces the tool's result or error."""
    try:
        if error is None:
            rt.record_outcome(d.decision_id, True, None, None, perf_counter() - start)
        else:
            rt.record_outcome(d.decision_id, False, type(error).__name__, None, perf_counter() - start)
    except RuntimeIdentityError as e:
        warnings.warn(f"the outcome of decision {d.decision_id} was not recorded: {e}", RuntimeWarning, stacklevel=3)


def guard(
    action: str,
    *,
    resource: str | Callable[..., str] | None = None,
    args: Callable[..., dict[str, Any]] | list[str] | tuple[str, ...] | None = None,
    runtime: Runtime | None = None,
    on_approval: OnApproval | None = None,
) -> Callable[[Callable[P, R]], Guarded[P, R]]:
    """Checks every call of the decorated function as ``action`` before it runs.

    ``resource``: a template over the bound arguments (``"customer/{customer_id}"``) or a
    function of the call's arguments. ``args``: the arguments checked against constraints —
    by default every bound argument (defaults applied; ``self``/``cls`` left out), else a list
    of names or a function of the call's arguments returning a dict. An argument checked whose
    type a check cannot hold raises :class:`InvalidArgument` naming it (leave it out with a
    list); the tool is called with the values checked (see the module's docstring), except
    with a function for ``args``, whose result is checked while the tool gets its arguments
    as given. A deny raises :class:`Denied`; ``require_approval`` calls ``on_approval(request)``
    (sync, or async for async tools) and proceeds with the receipt it returns, or raises
    :class:`ApprovalRequired`. After the call the outcome (ok or the exception's type, and the
    duration) is recorded; the tool's exceptions propagate unchanged.
    """

    def decorate(fn: Callable[P, R]) -> Guarded[P, R]:
        spec = _Spec(fn, action, resource, args, runtime, on_approval)
        wrapper: Callable[..., Any]
        if inspect.isasyncgenfunction(fn):

            @functools.wraps(fn)
            def agen_wrapper(*a: Any, **kw: Any) -> AsyncIterator[Any]:
                return _astream(spec, _taken(current_identity()), a, kw)

            wrapper = agen_wrapper
        elif inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*a: Any, **kw: Any) -> Iterator[Any]:
                return _stream(spec, _taken(spec.identity(None)), a, kw)

            wrapper = gen_wrapper
        elif inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def coro_wrapper(*a: Any, **kw: Any) -> Any:
                return await _acall(spec, None, a, kw)

            wrapper = coro_wrapper
        else:

            # The hot path, flattened (first_check inline): one native call checks, runs the
            # tool when allowed and records its outcome; anything else takes the general path.
            request, runtime_for, settle, plan = spec.request, spec.runtime_for, spec.settle, spec.plan

            @functools.wraps(fn)
            def sync_wrapper(*a: Any, **kw: Any) -> Any:
                ident = current_identity() or spec.identity(None)
                rt = runtime_for(ident)
                done = None if plan is None else rt._guard_call(plan, ident.credential, ident.context, a, kw)
                req = None
                if done is None:
                    # Not bound natively: bound here (raising Python's error for a wrong call).
                    req = request(a, kw)
                    done = rt._guard_run(ident.credential, action, req[0], req[1], ident.context, fn, req[2], req[3])
                ran, out = done
                if ran:
                    return out
                if out.effect != "require_approval":
                    raise Denied(out)
                # The approved call is checked, and run, with what the first check saw.
                resource, args, a, kw = req if req is not None else request(a, kw)
                d = settle(out, rt, ident, resource, args)
                start = perf_counter()
                try:
                    result = fn(*a, **kw)
                except BaseException as e:
                    _record(rt, d, start, e)
                    raise
                _record(rt, d, start, None)
                return result

            wrapper = sync_wrapper

        call_as: Callable[..., Any]
        if inspect.iscoroutinefunction(fn):

            async def acall_as(cred: Credential | str, *a: Any, **kw: Any) -> Any:
                with acting_as(cred, runtime):
                    return await cast(Callable[..., Awaitable[Any]], wrapper)(*a, **kw)

            call_as = acall_as
        else:
            # Generators take the identity when they are created, so the block may end first.

            def scall_as(cred: Credential | str, *a: Any, **kw: Any) -> Any:
                with acting_as(cred, runtime):
                    return wrapper(*a, **kw)

            call_as = scall_as
        setattr(wrapper, "call_as", call_as)
        setattr(wrapper, "__runtime_identity_action__", action)
        return cast(Guarded[P, R], wrapper)

    return decorate


def _taken(ident: Identity | None) -> Identity | None:
    """The identity a generator takes when it is made, as a plain Identity (one entered inside
    another generator is checked now, while that generator runs)."""
    if ident is None or type(ident) is Identity:
        return ident
    return Identity(ident.credential, ident.runtime, ident.context)


async def _acall(spec: _Spec[Any, Any], ident: Identity | None, a: tuple[Any, ...], kw: dict[str, Any]) -> Any:
    ident = spec.identity(ident)
    d, rt, (_, _, a, kw) = await spec.adecide(ident, a, kw)
    start = perf_counter()
    try:
        result = await cast(Callable[..., Awaitable[Any]], spec.fn)(*a, **kw)
    except BaseException as e:
        _record(rt, d, start, e)
        raise
    _record(rt, d, start, None)
    return result


def _stream(
    spec: _Spec[Any, Any], ident: Identity | None, a: tuple[Any, ...], kw: dict[str, Any]
) -> Generator[Any, Any, Any]:
    d, rt, (_, _, a, kw) = spec.decide(spec.identity(ident), a, kw)
    start = perf_counter()
    try:
        result = yield from cast(Callable[..., Generator[Any, Any, Any]], spec.fn)(*a, **kw)
    except BaseException as e:
        _record(rt, d, start, e)
        raise
    _record(rt, d, start, None)
    return result


async def _astream(spec: _Spec[Any, Any], ident: Identity | None, a: tuple[Any, ...], kw: dict[str, Any]) -> AsyncIterator[Any]:
    ident = spec.identity(ident)
    d, rt, (_, _, a, kw) = await spec.adecide(ident, a, kw)
    start = perf_counter()
    try:
        async for item in cast(Callable[..., AsyncIterator[Any]], spec.fn)(*a, **kw):
            yield item
    except BaseException as e:
        _record(rt, d, start, e)
        raise
    _record(rt, d, start, None)
