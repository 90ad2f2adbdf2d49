"""@guard on the four kinds of function: checks before, outcome after, arguments bound the
way the call binds them, exceptions unchanged, metadata kept."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import importlib
import inspect
import typing
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from conftest import BOT, Scenario
from runtime_identity import (
    ApprovalRequest,
    ApprovalRequired,
    Denied,
    InvalidArgument,
    NoIdentityContext,
    Receipt,
    acting_as,
    guard,
)

ALICE = "user:alice@acme"


@guard("payments.refund", resource="customer/{customer_id}")
def refund(customer_id: str, amount: float, currency: str = "USD") -> str:
    """Refunds `amount` to a customer."""
    return f"refunded {amount} {currency} to {customer_id}"


@guard("payments.refund", resource="customer/{customer_id}")
async def arefund(customer_id: str, amount: float, currency: str = "USD") -> str:
    """Refunds asynchronously."""
    await asyncio.sleep(0)
    return f"refunded {amount} {currency} to {customer_id}"


@guard("crm.read", resource=lambda customer_id, fields=("name",): f"customer/{customer_id}")
def stream_fields(customer_id: str, fields: tuple[str, ...] = ("name",)) -> Iterator[str]:
    """Streams fields."""
    for f in fields:
        yield f"{customer_id}.{f}"


@guard("crm.read", resource="customer/{customer_id}")
async def astream_fields(customer_id: str, n: int = 3) -> AsyncIterator[int]:
    """Streams numbers."""
    for i in range(n):
        await asyncio.sleep(0)
        yield i


def outcomes(s: Scenario) -> list[dict[str, Any]]:
    return s.rt.audit.events(type="outcome")


def decisions(s: Scenario) -> list[dict[str, Any]]:
    return s.rt.audit.events(type="decision")


def test_sync_function(scenario: Scenario) -> None:
    with acting_as(scenario.cred):
        assert refund("42", 50) == "refunded 50 USD to 42"
        with pytest.raises(Denied) as e:
            refund("42", 500)
    assert e.value.code == "constraint_violated" and not e.value.decision.allowed
    assert e.value.decision.resource == "customer/42"
    assert [o["outcome"]["status"] for o in outcomes(scenario)] == ["ok"]


def test_positional_keyword_and_default_arguments_check_the_same(scenario: Scenario) -> None:
    with acting_as(scenario.cred):
        refund("42", 50)
        refund(customer_id="42", amount=50)
        refund("42", amount=50, currency="USD")
    digests = {d["args_digest"] for d in decisions(scenario)}
    assert len(digests) == 1, digests
    with acting_as(scenario.cred), pytest.raises(TypeError):
        refund("42")  # type: ignore[call-arg]
    with acting_as(scenario.cred), pytest.raises(TypeError):
        refund("42", 1, "USD", 4)  # type: ignore[call-arg]
    with acting_as(scenario.cred), pytest.raises(TypeError):
        refund("42", 1, nope=2)  # type: ignore[call-arg]


def test_binding_errors_are_type_errors_naming_the_argument_as_python_does(scenario: Scenario) -> None:
    plain = refund.__wrapped__
    cases: list[tuple[tuple[Any, ...], dict[str, Any], str]] = [
        (("42",), {}, "'amount'"),
        ((), {"amount": 1}, "'customer_id'"),
        (("42", 1, "USD", 4), {}, "positional"),
        (("42", 1), {"nope": 2}, "'nope'"),
        (("42", 1), {"customer_id": "43"}, "'customer_id'"),
    ]
    for a, kw, word in cases:
        with pytest.raises(TypeError, match=word):
            plain(*a, **kw)
        with acting_as(scenario.cred), pytest.raises(TypeError, match=word):
            refund(*a, **kw)
    assert decisions(scenario) == [], "a call that cannot bind is never checked"


class _Fancy(str):
    """A str subclass whose format() and str() differ."""

    def __format__(self, spec: str) -> str:
        return "fancy"


class _Receiver:
    pass


def _tool(self: Any, cid: Any, n: Any = 1, *, tag: Any = "t", extra: Any = None) -> None:
    pass


def test_calls_bound_natively_check_what_python_binding_checks(scenario: Scenario) -> None:
    guard_module = importlib.import_module("runtime_identity.guard")
    specs = [
        guard_module._Spec(_tool, "crm.read", "customer/{cid}", None, None, None),
        guard_module._Spec(_tool, "crm.read", "customer/{cid}-{n}", ["n", "tag", "not_a_parameter"], None, None),
        guard_module._Spec(_tool, "crm.read", None, None, None, None),
    ]
    assert all(spec.plan is not None for spec in specs)
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((_Receiver(), "42"), {}),
        ((_Receiver(),), {"cid": "42", "n": 2.5, "tag": True}),
        ((None, 42, 7), {"extra": {"k": [1, "x", None]}}),
        ((_Receiver(), _Fancy("42"), 1.0), {"tag": _Fancy("t"), "extra": [_Fancy("x")]}),
        ((_Receiver(), "42"), {"extra": (1, 2), "n": -0.0}),
    ]
    rt, cred = scenario.rt, scenario.cred
    for spec in specs:
        for a, kw in calls:
            done = rt._guard_call(spec.plan, cred, None, a, kw)
            assert done is not None
            native = decisions(scenario)[-1]
            resource, args, a2, kw2 = spec.request(a, kw)
            rt._guard_run(cred, spec.action, resource, args, None, _tool, a2, kw2)
            python = decisions(scenario)[-1]
            assert native["decision_id"] != python["decision_id"]
            for key in ("resource", "args_digest", "effect", "reasons"):
                assert native.get(key) == python.get(key), (spec.resource, spec.args, a, kw, key)
    # A value a check cannot hold is refused by both, naming it (it was left out before).
    for spec in specs[::2]:
        with pytest.raises(InvalidArgument, match="`extra`"):
            rt._guard_call(spec.plan, cred, None, (None, "42"), {"extra": object()})
        with pytest.raises(InvalidArgument, match="`extra`"):
            spec.request((None, "42"), {"extra": object()})
    before = len(decisions(scenario))
    for a, kw in [((), {}), ((1, 2, 3, 4), {}), ((1, 2), {"cid": 3}), ((1, 2), {"nope": 3}), ((1,), {"self": 2})]:
        assert rt._guard_call(specs[0].plan, cred, None, a, kw) is None
    assert len(decisions(scenario)) == before, "a call that does not bind is not checked"


def test_resource_templates_fill_like_str_format(scenario: Scenario) -> None:
    @guard("crm.read", resource="customer/{cid}{suffix}")
    def two(cid: str, suffix: str = "") -> None:
        pass

    @guard("crm.read", resource="customer/{{x}}{cid:>3}")
    def formatted(cid: int) -> None:
        pass

    with acting_as(scenario.cred):
        two("42")
        two(4, suffix="2")
        with pytest.raises(Denied):
            formatted(42)
    seen = [d["resource"] for d in decisions(scenario)]
    # The invalid resource the third template made is recorded only as its digest.
    digest = hashlib.sha256(b"customer/{x} 42").hexdigest()[:16]
    assert seen == ["customer/42", "customer/42", f"<invalid sha256:{digest}>"]


def test_exceptions_inside_the_tool_are_recorded_and_propagate_unchanged(scenario: Scenario) -> None:
    class Boom(RuntimeError):
        pass

    err = Boom("the tool failed")

    @guard("crm.read", resource="customer/{cid}")
    def failing(cid: str) -> None:
        raise err

    with acting_as(scenario.cred), pytest.raises(Boom) as e:
        failing("42")
    assert e.value is err
    o = outcomes(scenario)[-1]["outcome"]
    assert o["status"] == "error" and o["error"] == "Boom" and o["duration_ms"] >= 0


def test_a_failure_to_record_the_outcome_is_a_warning_and_the_result_is_kept(scenario: Scenario) -> None:
    @guard("crm.read", resource="customer/{cid}")
    def closes_the_runtime(cid: str) -> str:
        scenario.rt.close()
        return "the result"

    with acting_as(scenario.cred), pytest.warns(RuntimeWarning, match="was not recorded") as w:
        assert closes_the_runtime("42") == "the result"
    # The warning points at the guarded call, not inside the package.
    assert w[0].filename == __file__


def test_metadata_is_kept() -> None:
    assert refund.__name__ == "refund" and refund.__doc__ == "Refunds `amount` to a customer."
    assert inspect.signature(refund) == inspect.signature(refund.__wrapped__)
    assert list(inspect.signature(refund).parameters) == ["customer_id", "amount", "currency"]
    assert typing.get_type_hints(refund) == {"customer_id": str, "amount": float, "currency": str, "return": str}
    assert refund.__wrapped__.__name__ == "refund"
    assert inspect.iscoroutinefunction(arefund)
    assert inspect.signature(arefund) == inspect.signature(arefund.__wrapped__)


def test_async_function(scenario: Scenario) -> None:
    async def main() -> None:
        async with acting_as(scenario.cred):
            assert await arefund("42", 10) == "refunded 10 USD to 42"
            with pytest.raises(Denied):
                await arefund("77", 10)
        with pytest.raises(NoIdentityContext):
            await arefund("42", 10)
        assert await arefund.call_as(scenario.cred, "42", 11) == "refunded 11 USD to 42"

    asyncio.run(main())
    assert len(outcomes(scenario)) == 2


def test_generators_are_checked_once_before_the_first_item(scenario: Scenario) -> None:
    with acting_as(scenario.cred):
        gen = stream_fields("42", ("name", "email"))
    assert decisions(scenario) == []  # nothing yet: checked at the first item
    assert list(gen) == ["42.name", "42.email"]  # the identity was taken when it was made
    assert len(decisions(scenario)) == 1 and outcomes(scenario)[-1]["outcome"]["status"] == "ok"
    with acting_as(scenario.cred):
        denied = stream_fields("1/../x")
        with pytest.raises(Denied):
            next(denied)
    with pytest.raises(NoIdentityContext):
        stream_fields("42")
    # Stopped early: recorded as not finished.
    with acting_as(scenario.cred):
        g = stream_fields("42", ("a", "b", "c"))
        assert next(g) == "42.a"
        g.close()
    assert outcomes(scenario)[-1]["outcome"]["error"] == "GeneratorExit"


def test_async_generators(scenario: Scenario) -> None:
    async def main() -> list[int]:
        async with acting_as(scenario.cred):
            return [i async for i in astream_fields("42", 4)]

    assert asyncio.run(main()) == [0, 1, 2, 3]

    async def failing() -> None:
        async with acting_as(scenario.cred):
            async for _ in astream_fields("77"):
                pass

    # customer/77 is pci: the policy forbids it before the first item.
    with pytest.raises(Denied):
        asyncio.run(failing())
    assert [o["outcome"]["status"] for o in outcomes(scenario)] == ["ok"]


def test_approval_flow_with_on_approval(scenario: Scenario) -> None:
    asked: list[ApprovalRequest] = []

    def approve(req: ApprovalRequest) -> Receipt:
        asked.append(req)
        assert req.action == "payments.refund" and req.resource == "customer/42" and req.actor == BOT
        return req.approve(ALICE)

    @guard("payments.refund", resource="customer/{cid}", on_approval=approve)
    def big_refund(cid: str, amount: int, currency: str = "USD") -> str:
        return "done"

    @guard("payments.refund", resource="customer/{cid}", on_approval=lambda req: None)
    def refused(cid: str, amount: int, currency: str = "USD") -> str:
        return "done"

    with acting_as(scenario.cred):
        assert big_refund("42", 90) == "done"
        with pytest.raises(ApprovalRequired) as e:
            refused("42", 91)
        with pytest.raises(ApprovalRequired) as e2:
            refund("42", 92)
    assert len(asked) == 1 and "refunds over 80" in asked[0].reason
    assert e.value.code == "approval_required" and e.value.request["id"]
    assert e2.value.decision.effect == "require_approval"
    kinds = [ev["type"] for ev in scenario.rt.audit.events()]
    assert "approval.granted" in kinds and "approval.consumed" in kinds


def test_an_approved_call_is_checked_with_what_its_first_check_saw(scenario: Scenario) -> None:
    """A resource function runs once per call, also when the call waits for an approval: the
    approval is bound to the first check's resource and arguments."""
    calls: list[str] = []

    def resource(cid: str, amount: int, currency: str = "USD") -> str:
        calls.append(cid)
        return f"customer/{cid}"

    @guard("payments.refund", resource=resource, on_approval=lambda req: req.approve(ALICE))
    def big_refund(cid: str, amount: int, currency: str = "USD") -> str:
        return "done"

    with acting_as(scenario.cred):
        assert big_refund("42", 90) == "done"
    assert calls == ["42"]


def test_a_guarded_tool_in_a_reference_cycle_is_collected() -> None:
    class Holder:
        tool: Any = None

    def make() -> weakref.ref[Holder]:
        holder = Holder()

        @guard("crm.read", resource="customer/{cid}")
        def tool(cid: str) -> Holder:
            return holder

        holder.tool = tool
        return weakref.ref(holder)

    ref = make()
    gc.collect()
    assert ref() is None


def test_async_on_approval(scenario: Scenario) -> None:
    async def approve(req: ApprovalRequest) -> str:
        await asyncio.sleep(0)
        return req.approve(ALICE).token

    @guard("payments.refund", resource="customer/{cid}", on_approval=approve)
    async def big_refund(cid: str, amount: int, currency: str = "USD") -> str:
        return "done"

    @guard("payments.refund", resource="customer/{cid}", on_approval=approve)
    def sync_tool(cid: str, amount: int, currency: str = "USD") -> str:
        return "done"

    async def main() -> str:
        async with acting_as(scenario.cred):
            return await big_refund("42", 85)

    assert asyncio.run(main()) == "done"
    with acting_as(scenario.cred), pytest.raises(TypeError):
        sync_tool("42", 86)


def test_args_selection_and_resource_callable(scenario: Scenario) -> None:
    seen: list[Any] = []

    class Customer:
        def __init__(self, cid: str) -> None:
            self.cid = cid

    @guard(
        "payments.refund",
        resource=lambda customer, amount, currency="USD": f"customer/{customer.cid}",
        args=lambda customer, amount, currency="USD": {"amount": amount, "currency": currency},
    )
    def pay(customer: Customer, amount: int, currency: str = "USD") -> None:
        seen.append(customer.cid)

    @guard("payments.refund", resource="customer/{c.cid}", args=["amount", "currency"])
    def pay2(c: Customer, amount: int, currency: str = "USD") -> None:
        seen.append(c.cid)

    with acting_as(scenario.cred):
        pay(Customer("42"), 20)
        pay2(Customer("42"), 21)
        with pytest.raises(Denied):
            pay2(Customer("42"), 200)
    assert seen == ["42", "42"]


def test_methods_leave_self_out(scenario: Scenario) -> None:
    class Tools:
        @guard("crm.read", resource="customer/{cid}")
        def read(self, cid: str) -> str:
            return cid

    with acting_as(scenario.cred):
        assert Tools().read("42") == "42"


def test_missing_identity_is_loud() -> None:
    with pytest.raises(NoIdentityContext) as e:
        refund("42", 1)
    assert e.value.code == "no_identity_context" and "acting_as" in str(e.value)
