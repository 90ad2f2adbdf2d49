"""pycasbin: one matcher calling a registered host function for each rule's condition.

Request ``r = sub, obj, act, ctx`` (agent, resource path, action, context dict with ``now``);
policy ``p = sub, obj, act, cond, eft`` with the 20 scenario rules as rows (``*`` for any agent
or action, ``keyMatch`` patterns ``prefix*``); deny-override effect. ``checkCond(p.cond, r.sub,
r.obj, r.ctx)`` looks the condition up by name and evaluates it against the agent and resource
directories built from the scenario (attributes, org, delegation, data class).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import casbin  # type: ignore[import-untyped]

from .harness import Call, Path
from .scenario import Request, Scenario, request_now

MODEL = """
[request_definition]
r = sub, obj, act, ctx

[policy_definition]
p = sub, obj, act, cond, eft

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = (p.sub == "*" || r.sub == p.sub) && (p.act == "*" || r.act == p.act) && keyMatch(r.obj, p.obj) \
&& checkCond(p.cond, r.sub, r.obj, r.ctx)
"""

Agent = Mapping[str, Any]
Resource = Mapping[str, Any]
Context = Mapping[str, Any]
Condition = Callable[[Agent, Resource, Context], bool]


def _amount_at_most(ctx: Context, limit: int) -> bool:
    amount = ctx.get("amount")
    return isinstance(amount, int) and amount <= limit


def _delegated_by_alice(agent: Agent, ctx: Context) -> bool:
    d = agent.get("delegation")
    return d is not None and d["delegator"] == "alice" and ctx["now"] < d["expires_at"]


#: The scenario's named conditions (``rules[].cond``), as the rule texts state them.
CONDITIONS: dict[str, Condition] = {
    "": lambda agent, res, ctx: True,
    "pci_uncleared": lambda agent, res, ctx: res.get("data_class") == "pci" and "pci_cleared" not in agent["attrs"],
    "deleg_alice": lambda agent, res, ctx: _delegated_by_alice(agent, ctx),
    "deleg_alice_refund": lambda agent, res, ctx: (
        _delegated_by_alice(agent, ctx) and _amount_at_most(ctx, 100) and ctx.get("currency") == "USD"
    ),
    "amount_le_10000": lambda agent, res, ctx: _amount_at_most(ctx, 10000),
    "refund_le_1000_usd": lambda agent, res, ctx: _amount_at_most(ctx, 1000) and ctx.get("currency") == "USD",
    "org_acme": lambda agent, res, ctx: agent["org"] == "acme",
}


@dataclass(frozen=True)
class CasbinState:
    enforcer: casbin.Enforcer
    scenario: Scenario


def check_cond_function(scenario: Scenario) -> Callable[[str, str, str, Context], bool]:
    """``checkCond(cond, agent, resource, ctx)`` over the scenario's directories; an unknown
    agent or resource has no attributes, and an unknown condition is an error."""
    agents: Mapping[str, Agent] = scenario["agents"]
    resources: Mapping[str, Resource] = scenario["resources"]
    nobody: Agent = {"attrs": [], "org": None}

    def check_cond(cond: str, sub: str, obj: str, ctx: Context) -> bool:
        return CONDITIONS[cond](agents.get(sub, nobody), resources.get(obj, {}), ctx)

    return check_cond


def prepare(scenario: Scenario) -> CasbinState:
    enforcer = casbin.Enforcer(casbin.Enforcer.new_model(text=MODEL))
    enforcer.add_function("checkCond", check_cond_function(scenario))
    for rule in scenario["rules"]:
        if rule["cond"] not in CONDITIONS:
            raise ValueError(f"rule {rule['id']}: unknown condition {rule['cond']!r}")
        enforcer.add_policy(rule["agent"], rule["prefix"] + "*", rule["action"], rule["cond"], rule["effect"])
    if len(enforcer.get_policy()) != len(scenario["rules"]):
        raise ValueError("casbin dropped a policy row")
    return CasbinState(enforcer, scenario)


def _args(state: CasbinState, request: Request) -> tuple[str, str, str, dict[str, Any]]:
    ctx = {"now": request_now(state.scenario, request), **request["context"]}
    return request["agent"], request["resource"], request["action"], ctx


def call(state: CasbinState, request: Request) -> Call:
    sub, obj, act, ctx = _args(state, request)
    enforce = state.enforcer.enforce
    return lambda: enforce(sub, obj, act, ctx)


def decide(state: CasbinState, request: Request) -> bool:
    return bool(state.enforcer.enforce(*_args(state, request)))


PATH: Path[CasbinState] = Path(
    name="Enforcer.enforce, matcher + custom function checkCond(p.cond,...)",
    library="pycasbin",
    prepare=prepare,
    decide=decide,
    call=call,
    packages=("casbin", "simpleeval"),
    note="20 policy rows, deny-override effect, keyMatch on prefix*, conditions in a registered host function",
)
