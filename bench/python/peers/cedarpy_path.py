"""cedarpy: pre-parsed ``PolicySet`` and ``Entities`` handles, ``{type, id}`` dict UIDs.

The 20 rules are the shared ``cedar.cedar`` as given to every peer. The entity store holds
24 entities built from the scenario: ``Org::"acme"``, 9 ``User``s, 10 ``Agent``s (parent the
org; ``attrs`` a set of strings; ``owner`` a ``User``; support-bot's ``delegation`` a record
``{delegator: User, expires_at: Long}``) and 4 ``Resource``s (``path``, ``data_class``).
The context carries ``now`` (the request's, else the scenario's) and the request's own
context (``amount``, ``currency``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

import cedarpy

from .harness import Call, Path
from .scenario import CEDAR_POLICIES, Request, Scenario, request_now


@dataclass(frozen=True)
class CedarState:
    policies: cedarpy.PolicySet
    entities: cedarpy.Entities
    scenario: Scenario


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"type": kind, "id": name}


def entities(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's org, users, agents and resources as Cedar JSON entities."""
    org = _ref("Org", "acme")
    out: list[dict[str, Any]] = [{"uid": org, "attrs": {}, "parents": []}]
    out += [{"uid": _ref("User", u), "attrs": {}, "parents": []} for u in scenario["users"]]
    for name, agent in scenario["agents"].items():
        attrs: dict[str, Any] = {"attrs": list(agent["attrs"]), "owner": {"__entity": _ref("User", agent["owner"])}}
        if (d := agent.get("delegation")) is not None:
            attrs["delegation"] = {
                "delegator": {"__entity": _ref("User", d["delegator"])},
                "expires_at": int(d["expires_at"]),
            }
        out.append({"uid": _ref("Agent", name), "attrs": attrs, "parents": [_ref("Org", agent["org"])]})
    for path, res in scenario["resources"].items():
        out.append({"uid": _ref("Resource", path), "attrs": {"path": path, **res}, "parents": []})
    return out


def prepare(scenario: Scenario, policy_file: FsPath = CEDAR_POLICIES, extra: str = "") -> CedarState:
    """Parses the rules of ``policy_file`` and ``extra`` (more Cedar text) once, and the entities."""
    policies = cedarpy.PolicySet.from_str(policy_file.read_text() + "\n" + extra)
    ents = cedarpy.Entities.from_json_str(json.dumps(entities(scenario)))
    return CedarState(policies, ents, scenario)


def cedar_request(state: CedarState, request: Request) -> dict[str, Any]:
    """The request in cedarpy's input form: dict UIDs, context a dict with ``now``."""
    return {
        "principal": _ref("Agent", request["agent"]),
        "action": _ref("Action", request["action"]),
        "resource": _ref("Resource", request["resource"]),
        "context": {"now": request_now(state.scenario, request), **request["context"]},
    }


def call(state: CedarState, request: Request) -> Call:
    req, policies, ents = cedar_request(state, request), state.policies, state.entities
    is_authorized = cedarpy.is_authorized
    return lambda: is_authorized(req, policies, ents).allowed


def decide(state: CedarState, request: Request) -> bool:
    result = cedarpy.is_authorized(cedar_request(state, request), state.policies, state.entities)
    if result.diagnostics.errors:
        raise RuntimeError(f"cedar evaluation errors on {request['id']}: {result.diagnostics.errors}")
    return result.allowed


def make_path(policy_file: FsPath = CEDAR_POLICIES, extra: str = "", label: str = "") -> Path[CedarState]:
    """The path reading its 20 policies from ``policy_file`` (and ``extra`` Cedar text, named
    ``label`` in the path's name)."""
    return Path(
        name="is_authorized(PolicySet, Entities handles), {type,id} dict UIDs" + (f", {label}" if label else ""),
        library="cedarpy",
        prepare=lambda scenario: prepare(scenario, policy_file, extra),
        decide=decide,
        call=call,
        packages=("cedarpy",),
        note=f"policies: {policy_file}; context dict {{now, amount?, currency?}}",
    )


PATH = make_path()
