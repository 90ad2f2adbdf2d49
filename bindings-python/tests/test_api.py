"""The whole Python API over the core: lifecycle, delegation, the scenario's requests,
approvals, attenuation, revocation and suspension, errors and code lists."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone
from pathlib import Path

import pytest
import runtime_identity
from conftest import ALICE, BOT, HELPER, Scenario
from runtime_identity import (
    ERROR_CODES,
    REASON_CODES,
    AgentError,
    ApprovalError,
    Credential,
    DelegationError,
    InvalidArgument,
    InvalidCredential,
    PolicyError,
    Runtime,
    RuntimeIdentityError,
    Scope,
    StoreError,
    _native,
    exceptions,
)


def test_code_lists_match_the_core() -> None:
    assert list(ERROR_CODES) == list(_native.ERROR_CODES)
    assert list(REASON_CODES) == list(_native.REASON_CODES)
    assert list(runtime_identity.EVENT_TYPES) == list(_native.EVENT_TYPES)
    # The core names a class for every code, and each name is a class of this package.
    assert set(_native.ERROR_CLASSES) == set(_native.ERROR_CODES)
    assert set(_native.ERROR_CLASSES.values()) <= set(exceptions._CLASSES), _native.ERROR_CLASSES
    assert set(exceptions._CLASSES) == set(_native.ERROR_CLASSES.values())  # no class left unused
    # Every core error code maps to a class of its own family.
    for code in _native.ERROR_CODES:
        exc = exceptions._from_core(code, "m")
        assert isinstance(exc, RuntimeIdentityError)
        assert exc.code == code
        if code != "internal_error":
            assert type(exc) is not exceptions.InternalError, code


def test_agent_lifecycle() -> None:
    rt = Runtime.in_memory("org:acme")
    rec = rt.register_agent(BOT, owner=ALICE, attributes={"team": "support"}, max_delegation_depth=3, name="Support")
    assert rec["id"] == BOT and rec["status"] == "active" and rec["owner"] == ALICE
    assert rec["attributes"] == {"team": "support"} and rec["max_delegation_depth"] == 3
    assert rt.get_agent(BOT)["name"] == "Support"
    assert [a["id"] for a in rt.list_agents(owner=ALICE)] == [BOT]
    assert rt.suspend_agent(BOT)["status"] == "suspended"
    assert [a["id"] for a in rt.list_agents(status="suspended")] == [BOT]
    assert rt.resume_agent(BOT)["status"] == "active"
    old = rt.get_agent(BOT)["keys"][-1]["kid"]
    assert rt.rotate_agent_key(BOT)["keys"][-1]["kid"] != old
    assert rt.revoke_agent(BOT)["status"] == "revoked"
    with pytest.raises(AgentError) as e:
        rt.register_agent(BOT, owner=ALICE)
    assert e.value.code == "agent_exists"
    with pytest.raises(AgentError) as e2:
        rt.get_agent("agent:acme/nobody")
    assert e2.value.code == "agent_unknown"
    with pytest.raises(InvalidArgument) as e3:
        rt.register_agent("not an id", owner=ALICE)
    assert e3.value.code == "principal_invalid" and isinstance(e3.value, ValueError)


def test_the_scenario_requests(scenario: Scenario) -> None:
    rt, cred = scenario.rt, scenario.cred
    r1 = rt.check(cred, "payments.refund", "customer/42", {"amount": 50, "currency": "USD"})
    assert r1.allowed and bool(r1) and r1.effect == "allow" and r1.code == "granted"
    r2 = rt.check(cred, "payments.refund", "customer/42", {"amount": 500, "currency": "USD"})
    assert not r2 and r2.code == "constraint_violated"
    r3 = rt.check(cred, "crm.read", "customer/42")
    assert r3.allowed
    r4 = rt.check(cred, "payments.refund", "customer/77", {"amount": 50, "currency": "USD"})
    assert not r4 and r4.code == "policy_forbid" and r4.policies == ["F01"]
    # A token string, as an agent receives it, decides the same.
    assert rt.check(cred.token, "crm.read", "customer/42").allowed
    assert r1.actor == BOT and r1.on_behalf_of == ALICE and r1.chain == [BOT] and r1.grant_id == cred.grant_id
    assert r1.action == "payments.refund" and r1.resource == "customer/42" and r1.decided_at_ms > 0
    assert "deny payments.refund on customer/77" in repr(r4)
    assert r1.to_dict()["effect"] == "allow"
    assert r2.reasons[0][0] == "constraint_violated"


def test_arguments_nested_too_deep_are_request_invalid(scenario: Scenario) -> None:
    # The scenario's policies convert every argument for Cedar, which refused deep values
    # with an internal error; the core's bound (32 levels, the arguments object counting as
    # one) now answers request_invalid before that.
    rt, cred = scenario.rt, scenario.cred

    def nested(levels: int) -> object:
        v: object = 1
        for _ in range(levels):
            v = [v]
        return v

    ok = rt.check(cred, "payments.refund", "customer/42", {"amount": 5, "currency": "USD", "memo": nested(31)})
    assert ok.allowed, ok
    for levels in (32, 40, 60):
        d = rt.check(cred, "payments.refund", "customer/42", {"amount": 5, "currency": "USD", "memo": nested(levels)})
        assert not d and d.code == "request_invalid", (levels, d)
        assert "nested more than 32 levels" in d.reasons[0][1]
    d = rt.check(cred, "crm.read", "customer/42", context={"env": {"x": nested(40)}})
    assert d.code == "request_invalid", d


def test_approvals_end_to_end(scenario: Scenario) -> None:
    rt, cred = scenario.rt, scenario.cred
    args = {"amount": 90, "currency": "USD"}
    d = rt.check(cred, "payments.refund", "customer/42", args)
    assert d.effect == "require_approval" and d.code == "approval_required" and "A01" in d.policies
    request = d.approval_request
    assert request is not None and request["reason"].startswith("refunds over 80")
    assert rt.get_approval(request["id"])["status"] == "pending"
    with pytest.raises(ApprovalError):
        rt.approve(request["id"], BOT)  # an agent cannot approve
    receipt = rt.approve(request["id"], ALICE)
    assert receipt.id == request["id"] and receipt.approval["status"] == "approved"
    assert receipt.token not in repr(receipt)
    # Bound to the exact call: other arguments cannot use it.
    other = rt.check(cred, "payments.refund", "customer/42", {"amount": 95, "currency": "USD"}, approval=receipt)
    assert other.code == "approval_invalid"
    ok = rt.check(cred, "payments.refund", "customer/42", args, approval=receipt)
    assert ok.allowed and ok.code == "approved"
    again = rt.check(cred, "payments.refund", "customer/42", args, approval=receipt.token)
    assert again.code == "approval_invalid"
    d2 = rt.check(cred, "payments.refund", "customer/42", {"amount": 91, "currency": "USD"})
    assert rt.deny_approval(d2.approval_request["id"], ALICE)["status"] == "denied"  # type: ignore[index]


def test_sub_agent_attenuation_and_escalation(scenario: Scenario) -> None:
    rt, cred = scenario.rt, scenario.cred
    sub = cred.attenuate(
        to=HELPER,
        scopes=[Scope("payments.refund", resources=["customer/42"], constraints={"amount": {"max": 50}, "currency": {"eq": "USD"}})],
        ttl=600,
    )
    assert isinstance(sub, Credential) and sub.agents == [BOT, HELPER] and sub.actor == HELPER
    assert [link["actor"] for link in sub.chain] == [BOT, HELPER]
    assert sub.chain[1]["issuer"] == BOT and sub.chain[1]["depth"] == 1
    assert sub.expires_at <= cred.expires_at and sub.expires_at.tzinfo is timezone.utc
    assert rt.check(sub, "payments.refund", "customer/42", {"amount": 40, "currency": "USD"}).allowed
    assert rt.check(sub, "payments.refund", "customer/42", {"amount": 60, "currency": "USD"}).code == "constraint_violated"
    assert rt.check(sub, "crm.read", "customer/42").code == "action_not_granted"
    with pytest.raises(DelegationError) as e:
        sub.attenuate(to=BOT, scopes=[{"actions": ["payments.*"], "resources": ["customer/*"]}])
    assert e.value.code == "scope_escalation"
    # The same through the runtime, from the token.
    again = rt.attenuate(sub.token, to=BOT, scopes=Scope("payments.refund", resources=["customer/42"], constraints={"amount": {"max": 10}, "currency": {"eq": "USD"}}))
    assert again.agents == [BOT, HELPER, BOT]


def test_revocation_and_suspension_take_effect_on_the_next_call(scenario: Scenario) -> None:
    rt, cred = scenario.rt, scenario.cred
    sub = cred.attenuate(to=HELPER, scopes=[Scope("crm.read", resources=["customer/42"])])
    assert rt.check(sub, "crm.read", "customer/42").allowed
    rt.suspend_agent(BOT)
    assert rt.check(sub, "crm.read", "customer/42").code == "agent_suspended"
    with pytest.raises(InvalidCredential) as e:
        rt.verify(sub.token)
    assert e.value.code == "agent_suspended"
    rt.resume_agent(BOT)
    assert rt.check(sub, "crm.read", "customer/42").allowed
    assert rt.revoke(cred) == [cred.grant_id, sub.grant_id]
    assert rt.check(sub, "crm.read", "customer/42").code == "grant_revoked"
    assert rt.revoke(cred.grant_id) == []


def test_credentials_keep_their_secret() -> None:
    rt = Runtime.in_memory("org:acme")
    rt.register_agent(BOT, owner=ALICE)
    cred = rt.delegate(to=BOT, on_behalf_of=ALICE, scopes=Scope("crm.read"))
    assert cred.token not in repr(cred) and cred.token not in str(cred)
    with pytest.raises(TypeError):
        pickle.dumps(cred)
    assert rt.verify(cred.token).grant_id == cred.grant_id
    assert cred.runtime is not None and cred.runtime.issuer == "org:acme"
    assert isinstance(cred.expires_at, datetime) and cred.expires_at_unix == int(cred.expires_at.timestamp())


def test_bad_input_gets_typed_errors(tmp_path: Path) -> None:
    rt = Runtime.in_memory("org:acme")
    rt.register_agent(BOT, owner=ALICE)
    with pytest.raises(InvalidArgument) as e:
        Scope([])
    assert e.value.code == "scope_invalid"
    with pytest.raises(InvalidArgument):
        rt.delegate(to=BOT, on_behalf_of=ALICE, scopes=Scope("crm.read"), ttl="forever")
    with pytest.raises(TypeError):
        rt.delegate(to=BOT, on_behalf_of=ALICE, scopes=[42])  # type: ignore[list-item]
    with pytest.raises(InvalidCredential) as e2:
        rt.verify("a.b.c~AAAA")
    assert e2.value.code == "token_malformed"
    with pytest.raises(InvalidCredential) as e2:
        rt.verify("a.b.c")  # no seal after the links
    assert e2.value.code == "seal_invalid"
    with pytest.raises(PolicyError) as e3:
        rt.load_policies("permit(principal, action, resource) when {")
    assert e3.value.code == "policy_invalid"
    with pytest.raises(InvalidArgument, match="`when`") as e4:
        rt.check("x", "crm.read", args={"when": object()})  # type: ignore[dict-item]
    assert e4.value.code == "invalid_argument"
    with pytest.raises(InvalidArgument, match="`n`"):
        rt.check("x", "crm.read", args={"n": float("nan")})
    cyclic: list[object] = []
    cyclic.append(cyclic)
    with pytest.raises(InvalidArgument) as e5:
        rt.check("x", "crm.read", args={"c": cyclic})
    assert e5.value.code == "input_too_large"
    assert rt.check("not a token", "crm.read").code == "credential_invalid"
    with pytest.raises(InvalidArgument):
        Runtime.in_memory("org:acme", durability="sometimes")  # type: ignore[arg-type]
    folder = tmp_path / "rt"
    Runtime.open(folder, issuer="org:acme").close()
    (folder / "store.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        Runtime.open(folder)


def test_policies_from_a_folder_and_resources(tmp_path: Path) -> None:
    rt = Runtime.in_memory("org:acme")
    (tmp_path / "a.cedar").write_text('@id("X1") forbid (principal, action == Action::"crm.delete", resource);')
    assert rt.load_policies(tmp_path) == 1
    assert rt.load_policies(str(tmp_path / "a.cedar")) == 1
    assert rt.upsert_resource("customer/1", data_class="pci", attributes={"tier": "gold"})["data_class"] == "pci"
    jwks = rt.jwks()
    assert jwks["keys"][0]["alg"] == "ES256"
    new = rt.rotate_authority_key("EdDSA")
    assert new["alg"] == "EdDSA" and len(rt.authority_keys()) == 2


def test_runtime_folder_and_context_manager(tmp_path: Path) -> None:
    with Runtime.open(tmp_path / "rt", issuer="org:acme") as rt:
        rt.register_agent(BOT, owner=ALICE)
        cred = rt.delegate(to=BOT, on_behalf_of=ALICE, scopes=Scope("crm.read"))
        d = rt.check(cred, "crm.read", "customer/1", context={"txn": "run-1"})
        rt.record_outcome(d.decision_id, True, duration=0.01)
    again = Runtime.open(tmp_path / "rt")
    assert again.issuer == "org:acme"
    assert again.verify(cred.token).actor == BOT
    assert again.audit.verify()["ok"]
    events = again.audit.events(decision_id=d.decision_id)
    assert [e["type"] for e in events] == ["decision", "outcome"]
    assert events[0]["txn"] == "run-1"


def test_rotating_a_compromised_key_revokes_its_grants() -> None:
    """Issue 16 item 8: `compromised=True` revokes every grant bound to the old key."""
    rt = Runtime.in_memory("org:acme")
    rt.register_agent(BOT, owner=ALICE)
    cred = rt.delegate(to=BOT, on_behalf_of=ALICE, scopes=[Scope("crm.read")])
    first = rt.check(cred, "crm.read", "customer/1")
    assert first.allowed and first.proof is False
    rt.rotate_agent_key(BOT)
    assert rt.check(cred, "crm.read", "customer/1").allowed  # a plain rotation keeps old grants
    rt.rotate_agent_key(BOT, compromised=True)
    assert rt.check(cred, "crm.read", "customer/1").allowed  # not bound to the key just retired
    fresh = rt.delegate(to=BOT, on_behalf_of=ALICE, scopes=[Scope("crm.read")])
    rt.rotate_agent_key(BOT, compromised=True)
    assert rt.check(fresh, "crm.read", "customer/1").code == "grant_revoked"
