"""``Reason``: one reason of a :class:`~runtime_identity.Decision`."""

from __future__ import annotations

from typing import NamedTuple


class Reason(NamedTuple):
    """One reason of a decision: ``r.code`` and ``r.message``, or ``code, message = r``
    (Node's reasons are ``{code, message}`` objects of the same two fields)."""

    code: str
    message: str
