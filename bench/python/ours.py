"""runtime-identity on the shared scenario: the scenario mapped into one runtime, and the
timed paths (a bare function as the baseline, guarded calls with buffered and sync audit, and
the raw check).

Mapping (see ../../README.md "Performance"): each agent holds one delegation token whose
scopes are the rules naming it (D02/D03 for support-bot, on behalf of alice, expiring at the
scenario's `delegation_expires_at`; P04–P20 for the other agents, on behalf of their owners;
P15 "any agent of org acme may kb.read kb/*" in every agent's grant); conditions become
argument constraints (`amount <= N` → `max`, `currency == USD` → `eq`); F01 is a Cedar
`forbid`. The clock is fixed at the scenario's `now` (and moved for V5).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from runtime_identity import Credential, Denied, Runtime, Scope, acting_as, guard

#: The shared scenario (a copy of the benchmark scenario all peers were measured on).
SCENARIO = Path(__file__).resolve().parents[1] / "scenario.json"

F01 = """@id("F01")
forbid (principal, action, resource)
when { resource has data_class && resource.data_class == "pci" }
unless { principal has pci_cleared && principal.pci_cleared };
"""

#: The scenario's named conditions as argument constraints.
CONSTRAINTS: dict[str, dict[str, Any]] = {
    "": {},
    "org_acme": {},
    "deleg_alice": {},
    "deleg_alice_refund": {"amount": {"max": 100}, "currency": {"eq": "USD"}},
    "amount_le_10000": {"amount": {"max": 10000}},
    "refund_le_1000_usd": {"amount": {"max": 1000}, "currency": {"eq": "USD"}},
}


def load_scenario(path: Path | None = None) -> dict[str, Any]:
    p = path or SCENARIO
    data: dict[str, Any] = json.loads(p.read_text())
    return data


@dataclass
class Ours:
    rt: Runtime
    creds: dict[str, Credential]
    scenario: dict[str, Any]
    folder: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)


def build(scenario: dict[str, Any], durability: Literal["sync", "buffered"] = "buffered", in_memory: bool = False, extra_policies: str = "") -> Ours:
    """The scenario in one runtime; ``extra_policies`` (Cedar text) is loaded next to F01."""
    now = int(scenario["now"])
    folder = None
    if in_memory:
        rt = Runtime.in_memory("org:acme", durability=durability, max_ttl="60d", fixed_time=now)
    else:
        folder = tempfile.TemporaryDirectory(prefix="rid-bench-")
        rt = Runtime.open(Path(folder.name) / "rt", issuer="org:acme", durability=durability, max_ttl="60d", fixed_time=now)
    for name, a in scenario["agents"].items():
        attrs = {attr: True for attr in a.get("attrs", [])}
        rt.register_agent(f"agent:acme/{name}", owner=f"user:{a['owner']}@acme", org=a["org"], attributes=attrs)
    for rid, r in scenario["resources"].items():
        rt.upsert_resource(rid, data_class=r.get("data_class"))
    rt.load_policies(F01 + extra_policies)
    creds: dict[str, Credential] = {}
    for name, a in scenario["agents"].items():
        scopes = []
        for rule in scenario["rules"]:
            if rule["effect"] != "allow" or rule["agent"] not in ("*", name):
                continue
            scopes.append(Scope(rule["action"], resources=[rule["prefix"] + "*"], constraints=CONSTRAINTS[rule["cond"]] or None))
        delegation = a.get("delegation")
        on_behalf = f"user:{delegation['delegator'] if delegation else a['owner']}@acme"
        ttl = int(delegation["expires_at"]) - now if delegation else 30 * 86400
        creds[name] = rt.delegate(to=f"agent:acme/{name}", on_behalf_of=on_behalf, scopes=scopes, ttl=ttl)
    return Ours(rt, creds, scenario, folder)


#: Verification allows this much clock skew (seconds), as JOSE libraries do: a request that
#: carries its own `now` just past an expiry (V5, 1 s late) is evaluated that far later still.
LEEWAY = 30


def decide(o: Ours, req: Mapping[str, Any]) -> bool:
    """One request as a raw check (moving the clock for requests that carry `now`)."""
    if "now" in req:
        o.rt.set_time(int(req["now"]) + LEEWAY)
    try:
        d = o.rt.check(o.creds[req["agent"]], req["action"], req["resource"], req["context"])
    finally:
        if "now" in req:
            o.rt.set_time(int(o.scenario["now"]))
    return d.allowed


def guarded_call(o: Ours, req: Mapping[str, Any]) -> Callable[[], bool]:
    """A zero-argument closure: the guarded tool called as the agent; True when it ran (a deny
    raises Denied, which the closure catches, as an application would)."""
    tool = guard(req["action"], resource="{resource}")(_tool)
    cred = o.creds[req["agent"]]
    resource, args = req["resource"], dict(req["context"])

    def run() -> bool:
        with acting_as(cred):
            try:
                tool(resource, **args)
                return True
            except Denied:
                return False

    return run


def deepen(o: Ours, links: int, agent: str = "support-bot") -> Ours:
    """The same runtime with ``agent``'s credential replaced by a ``links``-link chain: the
    original 1-link credential attenuated, with the same scopes, to ``sub-bot`` and then
    ``leaf-bot`` (registered here, owned by the same user, no attributes)."""
    cred = o.creds[agent]
    owner = f"user:{o.scenario['agents'][agent]['owner']}@acme"
    for depth in range(1, links):
        to = f"agent:acme/{('sub-bot', 'leaf-bot')[depth - 1]}"
        o.rt.register_agent(to, owner=owner, org="acme")
        cred = o.rt.attenuate(cred, to=to, scopes=cred.scopes)
    if len(cred.chain) != links:
        raise RuntimeError(f"expected a {links}-link chain, got {len(cred.chain)} links")
    return Ours(o.rt, {**o.creds, agent: cred}, o.scenario, o.folder)


def _tool(resource: str, amount: float | None = None, currency: str | None = None) -> str:
    """A tool with named parameters (the arguments of the scenario's requests)."""
    return resource


def raw_check(o: Ours, req: Mapping[str, Any]) -> Callable[[], bool]:
    cred = o.creds[req["agent"]]
    check = o.rt.check
    action, resource, args = req["action"], req["resource"], dict(req["context"])
    return lambda: check(cred, action, resource, args).allowed


def bare_call(req: Mapping[str, Any]) -> Callable[[], Any]:
    resource, args = req["resource"], dict(req["context"])
    return lambda: _tool(resource, **args)
