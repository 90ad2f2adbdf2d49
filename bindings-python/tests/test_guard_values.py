"""What a guarded call checks is what its tool receives.

Arguments of the types a check cannot hold are refused, never left out; `Decimal`, `Enum`,
`UUID`, `datetime` and `date` are converted explicitly; subclasses of the built-in types are
checked by their stored value and the tool receives plain copies of exactly that value (issue 16,
items 1 and 2). Each test runs through the native binder (plain signatures) and through the
Python one (a signature with ``**kw``)."""

from __future__ import annotations

import asyncio
import enum
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from conftest import ALICE, BOT, Scenario
from runtime_identity import ApprovalRequired, Denied, InvalidArgument, Scope, acting_as, guard

Seen = list[Any]


def refunds(seen: Seen) -> list[Callable[..., str]]:
    """The same refund tool bound natively (plain signature) and in Python (``**extra``)."""

    @guard("payments.refund", resource="customer/{customer_id}")
    def native(customer_id: str, amount: Any, currency: Any = "USD", note: Any = None) -> str:
        seen.append((customer_id, amount, note))
        return f"refunded {float(amount)} to customer/{customer_id}"

    @guard("payments.refund", resource="customer/{customer_id}")
    def python(customer_id: str, amount: Any, currency: Any = "USD", note: Any = None, **extra: Any) -> str:
        seen.append((customer_id, amount, note))
        return f"refunded {float(amount)} to customer/{customer_id}"

    return [native, python]


def digests(s: Scenario) -> list[str]:
    return [d["args_digest"] for d in s.rt.audit.events(type="decision")]


# --- item 1: conversions, and refusals that name the argument --------------------------------


def test_decimal_amounts_are_checked_exactly(scenario: Scenario) -> None:
    seen: Seen = []
    for tool in refunds(seen):
        seen.clear()
        with acting_as(scenario.cred):
            d = Decimal("50")
            assert tool("42", d) == "refunded 50.0 to customer/42"
            assert seen[-1][1] is d, "the tool receives the Decimal itself"
            with pytest.raises(Denied) as e:
                tool("42", Decimal("500"))  # was left out of the check: ran unconstrained
            assert e.value.code == "constraint_violated"
            with pytest.raises(ApprovalRequired):
                tool("42", Decimal("90.00"))  # integral: the Long 90, so policy A01 applies
        # Not integral: the decimal 19.99, exactly what the float 19.99 means in a check (its
        # shortest form), so both are the same request.
        rt, cred = scenario.rt, scenario.cred
        assert rt.action_hash(cred, "payments.refund", "customer/42", {"amount": Decimal("19.99")}) == rt.action_hash(
            cred, "payments.refund", "customer/42", {"amount": 19.99}
        )
        for bad, why in [
            (Decimal("0.1000000000000000055511151231257827"), "no float"),
            (Decimal("NaN"), "finite"),
            (Decimal("-Infinity"), "finite"),
            (Decimal("1e30"), "range"),
        ]:
            with acting_as(scenario.cred), pytest.raises(InvalidArgument, match="`amount`") as err:
                tool("42", bad)
            assert err.value.code == "invalid_argument" and why in str(err.value), err.value
        assert len(seen) == 1, "only Decimal(50) ran"


class Color(enum.Enum):
    RED = "red"
    DEEP = ("deep", 3)


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 90


def test_enum_uuid_datetime_and_date_are_converted_explicitly(scenario: Scenario) -> None:
    seen: Seen = []

    @guard("crm.read", resource="customer/42")
    def native(kind: Any, n: Any = 0) -> None:
        seen.append(kind)

    @guard("crm.read", resource="customer/42")
    def python(kind: Any, n: Any = 0, *rest: Any) -> None:
        seen.append(kind)

    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    naive = datetime(2026, 12, 3, 14, 5, 6, 7)
    aware = datetime(2026, 12, 3, 14, 5, 6, tzinfo=timezone(timedelta(hours=1)))
    cases: list[tuple[Any, Any]] = [
        (Color.RED, "red"),
        (Color.DEEP, ["deep", 3]),
        (Level.HIGH, 90),
        (u, "12345678-1234-5678-1234-567812345678"),
        (naive, "2026-12-03T14:05:06.000007"),  # naive: no offset is assumed
        (aware, "2026-12-03T14:05:06+01:00"),
        (date(2026, 12, 3), "2026-12-03"),
        ({"when": date(2026, 12, 3), "ids": [u, Decimal("2")]}, {"when": "2026-12-03", "ids": [str(u), 2]}),
    ]
    for tool in (native, python):
        for value, plain in cases:
            seen.clear()
            with acting_as(scenario.cred):
                tool(value)
                tool(plain)
            assert digests(scenario)[-1] == digests(scenario)[-2], (tool, value)
            if not isinstance(value, dict):
                assert seen[0] is value, "immutable values of these types are passed as they are"
    # The Enum member reaches the tool as itself; its value is what was checked.
    assert scenario.rt.action_hash(scenario.cred, "crm.read", "customer/42", {"kind": Level.HIGH}) == (
        scenario.rt.action_hash(scenario.cred, "crm.read", "customer/42", {"kind": 90})
    )


class Sneaky(enum.Enum):
    A = 50

    @property
    def value(self) -> int:
        return 5000


class NotJson:
    pass


class MyDecimal(Decimal):
    pass


def test_arguments_it_cannot_convert_are_refused_not_left_out(scenario: Scenario) -> None:
    seen: Seen = []
    for tool in refunds(seen):
        for bad, kind in [
            (object(), "`object`"),
            (NotJson(), "`NotJson`"),
            ({1, 2}, "`set`"),
            (b"50", "`bytes`"),
            (MyDecimal("50"), "`MyDecimal`"),
            (Sneaky.A, "`Sneaky`"),
            (lambda: 50, "`function`"),
            (2**70, "64-bit"),
            (float("inf"), "inf"),
        ]:
            before = len(digests(scenario))
            with acting_as(scenario.cred), pytest.raises(InvalidArgument, match="`amount`") as e:
                tool("42", bad)
            assert e.value.code == "invalid_argument" and kind in str(e.value), (bad, str(e.value))
            assert len(digests(scenario)) == before, "refused before anything is checked"
        with acting_as(scenario.cred), pytest.raises(InvalidArgument, match=r"`note\.why\[1\]`"):
            tool("42", 1, note={"why": [1, object()]})
        with acting_as(scenario.cred), pytest.raises(InvalidArgument, match="`note`.*keys"):
            tool("42", 1, note={1: "x"})
    assert seen == []

    # An explicit selection is the way to leave an argument out.
    @guard("payments.refund", resource="customer/{customer_id}", args=["amount", "currency"])
    def with_a_handle(customer_id: str, amount: int, currency: str = "USD", conn: Any = None) -> Any:
        return conn

    handle = NotJson()
    with acting_as(scenario.cred):
        assert with_a_handle("42", 10, conn=handle) is handle
    # The raw check refuses the same way.
    with pytest.raises(InvalidArgument, match="`when`"):
        scenario.rt.check(scenario.cred, "crm.read", "customer/42", {"when": object()})


def test_the_mcp_style_refund_of_5000_as_a_decimal_needs_approval(scenario: Scenario) -> None:
    cred = scenario.rt.delegate(
        to=BOT, on_behalf_of=ALICE, scopes=[Scope("payments.refund", resources=["customer/*"])]
    )
    ran: Seen = []

    @guard("payments.refund", resource="customer/{customer_id}")
    def refund(customer_id: str, amount: Decimal) -> str:
        ran.append(amount)
        return "refunded"

    with acting_as(cred):
        assert refund("42", Decimal("50")) == "refunded"
        with pytest.raises(ApprovalRequired):
            refund("42", Decimal("5000"))
    assert ran == [Decimal("50")]


# --- item 2: the tool receives exactly what was checked ---------------------------------------


class Fifty(float):
    """Stores 50, tells the tool 5000."""

    def __float__(self) -> float:
        return 5000.0

    def __format__(self, spec: str) -> str:
        return "5000"

    def __str__(self) -> str:
        return "5000"


class FiftyInt(int):
    def __int__(self) -> int:
        return 5000

    def __index__(self) -> int:
        return 5000

    def __float__(self) -> float:
        return 5000.0


class Customer77(str):
    """Stores "77" (a pci customer), formats as "42" (an internal one)."""

    def __format__(self, spec: str) -> str:
        return "42"

    def __str__(self) -> str:
        return "42"


class Lying(dict[str, Any]):
    def __getitem__(self, key: str) -> Any:
        return 5000

    def get(self, key: str, default: Any = None) -> Any:
        return 5000

    def items(self) -> Any:
        return [("amount", 50)]


class LyingList(list[Any]):
    def __iter__(self) -> Iterator[Any]:
        return iter([50])

    def __getitem__(self, i: Any) -> Any:
        return 5000


def test_subclasses_of_built_in_types_reach_the_tool_as_plain_copies_of_what_was_checked(scenario: Scenario) -> None:
    seen: Seen = []
    for tool in refunds(seen):
        seen.clear()
        with acting_as(scenario.cred):
            # The check saw 50: the tool must be charged 50, not 5000.
            assert tool("42", Fifty(50)) == "refunded 50.0 to customer/42"
            assert tool("42", FiftyInt(50)) == "refunded 50.0 to customer/42"
            for got in seen:
                assert type(got[1]) in (int, float) and got[1] == 50
            with pytest.raises(Denied) as e:
                tool("42", Fifty(5000.0))
            assert e.value.code == "constraint_violated"
            # customer/77 is pci (forbidden): checked as 77, since that is what the tool gets.
            with pytest.raises(Denied) as e:
                tool(Customer77("77"), 10)
            assert e.value.code == "policy_forbid" and e.value.decision.resource == "customer/77"
            tool("42", 10, note=Lying(amount=50))
            tool("42", 10, note=LyingList([50]))
        assert type(seen[-2][2]) is dict and seen[-2][2]["amount"] == 50
        assert type(seen[-1][2]) is list and seen[-1][2][0] == 50


def test_a_dict_argument_is_copied_so_a_concurrent_change_cannot_reach_the_tool(scenario: Scenario) -> None:
    seen: Seen = []

    @guard("payments.refund", resource="customer/42")
    def native(amount: int, currency: str, options: dict[str, Any]) -> None:
        seen.append(options)

    options: dict[str, Any] = {"amount": 10}
    with acting_as(scenario.cred):
        native(10, "USD", options)
    options["amount"] = 5000
    assert seen[0] == {"amount": 10} and seen[0] is not options


def test_resource_templates_and_approved_calls_use_the_same_snapshot(scenario: Scenario) -> None:
    seen: Seen = []
    approvals: Seen = []

    def approve(req: Any) -> Any:
        approvals.append(req.resource)
        return req.approve(ALICE)

    @guard("payments.refund", resource="customer/{cid}", args=["amount", "currency"], on_approval=approve)
    def selected(cid: str, amount: Any, currency: str = "USD") -> None:
        seen.append((cid, amount))

    @guard("payments.refund", resource="customer/{cid!s}", on_approval=approve)
    def formatted(cid: str, amount: Any, currency: str = "USD") -> None:
        seen.append((cid, amount))

    with acting_as(scenario.cred):
        selected("42", Fifty(90))  # approval: the approved call runs with the checked 90.0
        with pytest.raises(Denied):
            selected(Customer77("77"), 10)  # a template-only argument is copied too
        with pytest.raises(Denied):
            formatted(Customer77("77"), 10)
    assert approvals == ["customer/42"]
    assert seen == [("42", 90.0)] and type(seen[0][1]) is float


def test_generators_and_coroutines_receive_the_snapshot(scenario: Scenario) -> None:
    seen: Seen = []

    @guard("payments.refund", resource="customer/{cid}")
    def gen(cid: str, amount: Any, currency: str = "USD") -> Iterator[Any]:
        yield amount

    @guard("payments.refund", resource="customer/{cid}")
    async def coro(cid: str, amount: Any, currency: str = "USD") -> Any:
        return amount

    @guard("payments.refund", resource="customer/{cid}")
    async def agen(cid: str, amount: Any, currency: str = "USD") -> Any:
        yield amount

    async def main() -> None:
        async with acting_as(scenario.cred):
            seen.append(await coro("42", Fifty(50)))
            seen.extend([x async for x in agen("42", FiftyInt(50))])

    with acting_as(scenario.cred):
        seen.extend(gen("42", Fifty(50)))
    asyncio.run(main())
    assert [(type(x), x) for x in seen] == [(float, 50.0), (float, 50.0), (int, 50)]


def test_exact_built_in_values_are_passed_as_they_are(scenario: Scenario) -> None:
    seen: Seen = []
    for tool in refunds(seen):
        s, x = "".join(["4", "2"]), float("7")
        with acting_as(scenario.cred):
            tool(s, x, note=("a", 1))
        assert seen[-1][0] is s and seen[-1][1] is x and seen[-1][2] == ("a", 1)


def test_threads_see_their_own_snapshot(scenario: Scenario) -> None:
    seen: Seen = []
    (tool,) = refunds(seen)[:1]
    errors: Seen = []

    def run(i: int) -> None:
        try:
            with acting_as(scenario.cred):
                tool("42", Fifty(i))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(1, 30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(x[1] for x in seen) == [float(i) for i in range(1, 30)]
    assert {type(x[1]) for x in seen} == {float}
