"""Shared fixtures: the benchmark scenario in an in-memory runtime."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from runtime_identity import Credential, Runtime, Scope

REPO = Path(__file__).resolve().parents[2]
SCENARIO_POLICIES = REPO / "examples" / "policies" / "scenario.cedar"
ALICE = "user:alice@acme"
BOT = "agent:acme/support-bot"
HELPER = "agent:acme/refund-helper"


@dataclass
class Scenario:
    rt: Runtime
    cred: Credential


def build_scenario(rt: Runtime) -> Scenario:
    for name, owner, cleared in [("support-bot", "alice", False), ("billing-bot", "bob", True), ("sales-bot", "frank", False)]:
        rt.register_agent(
            f"agent:acme/{name}",
            owner=f"user:{owner}@acme",
            org="acme",
            attributes={"pci_cleared": True} if cleared else {},
        )
    rt.register_agent(HELPER, owner=ALICE, org="acme")
    for rid, data_class in [("customer/42", "internal"), ("customer/77", "pci"), ("invoice/9", "internal"), ("kb/faq", "public")]:
        rt.upsert_resource(rid, data_class=data_class)
    rt.load_policies(str(SCENARIO_POLICIES))
    cred = rt.delegate(
        to=BOT,
        on_behalf_of=ALICE,
        scopes=[
            Scope(["crm.read"], resources=["customer/*"]),
            Scope(
                ["payments.refund"],
                resources=["customer/*"],
                constraints={"amount": {"max": 100}, "currency": {"eq": "USD"}},
            ),
        ],
        ttl="1h",
        purpose="support ticket 4711",
    )
    return Scenario(rt, cred)


@pytest.fixture
def scenario() -> Scenario:
    return build_scenario(Runtime.in_memory("org:acme"))


@pytest.fixture
def file_scenario(tmp_path: Path) -> Scenario:
    return build_scenario(Runtime.open(tmp_path / "rt", issuer="org:acme", durability="buffered"))
