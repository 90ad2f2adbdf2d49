"""The values a check holds that are not built-in JSON types: ``Decimal``, ``Enum``, ``UUID``,
``datetime`` and ``date``. The native conversion (``convert.rs``) calls :func:`_convert` for
every value whose type is not exactly ``None``/``bool``/``int``/``float``/``str``/``list``/
``tuple``/``dict``; what it returns is converted in its place, and the tool receives the
original object (these types are immutable, so it holds exactly what was checked).

- ``Decimal``: an integral one is that int; another is the float whose shortest form (``repr``,
  which is how a check and the action hash read a float) is exactly the same number
  (``Decimal("19.99")`` is the float ``19.99``, which a check reads as the decimal ``19.99``);
  anything else (``Decimal("0.1000000000000000055511151231257827")``, NaN, infinities, 10**19
  and beyond) is refused: never rounded.
- ``Enum``: its value (``_value_``), converted by the same rules; refused when its class
  changes how the member reads (``value``, conversions, comparisons, formatting defined outside
  the ``enum`` module), or when the data type it mixes in (``IntEnum``, ``StrEnum``) holds
  another value than its ``_value_``.
- ``UUID``: its canonical string. ``datetime``: ISO 8601 (``isoformat()``); a naive datetime
  gets no offset (none is assumed), an aware one must have a ``timezone`` or ``ZoneInfo``
  (whose offsets are fixed data). ``date``: ISO 8601.

Only these exact types: a subclass (``class Money(Decimal)``) is refused, since its methods
could tell the tool something else than what was checked.
"""

from __future__ import annotations

import enum
import types
import weakref
import zoneinfo
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

#: Names whose meaning an Enum class must take from the ``enum`` module or a built-in type for
#: its members to be passed to a tool as they are (besides every dunder it defines).
_READS = frozenset({"value", "name", "_value_", "_name_"})
#: Built-in (C) callables and descriptors.
_BUILTIN = (
    types.WrapperDescriptorType,
    types.MethodDescriptorType,
    types.BuiltinFunctionType,
    types.GetSetDescriptorType,
    types.MemberDescriptorType,
    types.ClassMethodDescriptorType,
    types.MethodWrapperType,
)
#: The value an int, str or float subclass stores (read without any method it overrides).
_STORED: dict[type, Any] = {int: int.__int__, str: str.__str__, float: float.__float__}
_ENUM_CLASSES: weakref.WeakKeyDictionary[type, str | None] = weakref.WeakKeyDictionary()


def _convert(obj: Any) -> tuple[Any] | str | None:
    """``(value,)``: the value a check holds for ``obj``; a str: why it cannot hold it (the
    caller names the argument); None: not one of these types."""
    t = type(obj)
    if t is Decimal:
        return _decimal(obj)
    if t is datetime:
        tz = obj.tzinfo
        if tz is not None and type(tz) is not timezone and type(tz) is not zoneinfo.ZoneInfo:
            return f"is a `datetime` with a tzinfo of type `{type(tz).__name__}` (use `timezone` or `ZoneInfo`)"
        return (obj.isoformat(),)
    if t is date:
        return (obj.isoformat(),)
    if t is UUID:
        return (str(obj),)
    if isinstance(obj, enum.Enum):
        return _enum(obj)
    return None


def _decimal(d: Decimal) -> tuple[Any] | str:
    if not d.is_finite():
        return f"is a `Decimal` that is not finite (`{d}`)"
    if d.adjusted() >= 19:
        return f"is a `Decimal` out of the 64-bit range (`{d}`)"
    if d == d.to_integral_value():
        return (int(d),)
    f = float(d)
    if Decimal(repr(f)) == d:
        return (f,)
    return f"is a `Decimal` that no float represents exactly (`{d}`): a check never rounds"


def _enum(member: enum.Enum) -> tuple[Any] | str:
    cls = type(member)
    why = _ENUM_CLASSES.get(cls, "")
    if why == "":
        why = _enum_class(cls)
        _ENUM_CLASSES[cls] = why
    if why is not None:
        return why
    value = member._value_
    mixin = cls._member_type_  # type: ignore[attr-defined]
    if mixin is not object:
        stored = _STORED.get(mixin)
        if stored is None:
            return f"is a `{cls.__name__}`, an Enum of `{mixin.__name__}`, which a check cannot hold"
        if type(value) is not mixin or stored(member) != value:
            return f"is a `{cls.__name__}` member whose `{mixin.__name__}` differs from its value"
    return (value,)


def _enum_class(cls: type) -> str | None:
    """None when the members of ``cls`` read as the ``enum`` module defines (their value is
    what a tool reads); else why not."""
    members = getattr(cls, "_member_map_", {})
    for k in cls.__mro__:
        if k.__module__ in ("enum", "builtins"):
            continue
        for name, v in vars(k).items():
            if name in members or not (name in _READS or (name.startswith("__") and name.endswith("__"))):
                continue
            if not (callable(v) or hasattr(v, "__get__")) or _from_enum(v):
                continue
            return f"is a `{cls.__name__}`, an Enum whose class defines `{name}`, which a check cannot rely on"
    return None


def _from_enum(v: Any) -> bool:
    if isinstance(v, _BUILTIN):
        return True
    if isinstance(v, (staticmethod, classmethod)):
        v = v.__func__
    return getattr(v, "__module__", None) == "enum" or type(v).__module__ == "enum"
