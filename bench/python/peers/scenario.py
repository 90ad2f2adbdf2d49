"""Loading the shared scenario and the few facts every path reads from it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: One request of the scenario (``id``, ``agent``, ``action``, ``resource``, ``context``,
#: optional ``now``, ``expect``, ``timed``).
Request = Mapping[str, Any]
#: The whole scenario document.
Scenario = Mapping[str, Any]

_HERE = Path(__file__).resolve().parent
#: The repository's copy of the shared scenario (the one ``ours.py`` reads too).
SCENARIO = _HERE.parent.parent / "scenario.json"
#: The 20 rules as plain Cedar, as the peers were given them (a copy of the shared file).
CEDAR_POLICIES = _HERE.parent.parent / "policies" / "cedar.cedar"


def load_scenario(path: Path | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((path or SCENARIO).read_text())
    return data


def request_now(scenario: Scenario, request: Request) -> int:
    """The request's fixed clock: its own ``now`` if it has one, else the scenario's."""
    return int(request.get("now", scenario["now"]))


def timed_requests(scenario: Scenario) -> list[Request]:
    return [r for r in scenario["requests"] if r.get("timed")]
