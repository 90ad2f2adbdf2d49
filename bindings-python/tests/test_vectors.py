"""The conformance vectors of tests/vectors run through the Python API, step by step, as the
Rust and Node suites run them (see tests/vectors/README.md). Each file is first validated
against tests/vectors/schema.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import runtime_identity as ri

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors"
FILES = sorted(p for p in VECTORS.glob("*.json") if p.name != "schema.json")


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _cases() -> list[Any]:
    out = []
    for path in FILES:
        doc = _load(path)
        for case in doc["cases"]:
            out.append(pytest.param(doc, case, id=case["id"]))
    return out


def test_every_file_follows_the_schema() -> None:
    schema = _load(VECTORS / "schema.json")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert len(FILES) >= 10
    total = 0
    for path in FILES:
        doc = _load(path)
        jsonschema.Draft202012Validator(schema).validate(doc)
        total += len(doc["cases"])
    assert total >= 150


def _subset(got: Any, expect: Any, what: str) -> None:
    for key, want in (expect or {}).items():
        assert key in got and got[key] == want, f"{what} field {key!r}: want {want!r}, got {got!r}"


class _Run:
    def __init__(self, setup: dict[str, Any]) -> None:
        self.setup = setup
        self.rt = self._open(setup["issuer"])
        self.rt.import_authority_key(setup["authority_key"])
        for a in setup["agents"]:
            self.rt.register_agent(
                a["id"],
                owner=a["owner"],
                attributes=a["attributes"],
                max_delegation_depth=a["max_delegation_depth"],
                public_key=a["public_key"],
            )
        if setup["policies"]:
            self.rt.load_policies(setup["policies"])
        for r in setup["resources"]:
            self.rt.upsert_resource(r["id"], data_class=r.get("data_class"), attributes=r.get("attributes"))
        self.saved: dict[str, str] = {}

    def _open(self, issuer: str) -> ri.Runtime:
        options = self.setup["options"]
        return ri.Runtime.in_memory(
            issuer,
            alg=self.setup["alg"],
            fixed_time=self.setup["now"],
            require_permit=options.get("require_permit", False),
            require_proof=options.get("require_proof", False),
        )

    def value(self, v: str) -> str:
        return self.saved[v[1:]] if v.startswith("$") else v

    def secret_key(self, agent: str) -> str:
        return json.dumps(next(a for a in self.setup["agents"] if a["id"] == agent)["secret_key"])

    def outcome(self, call: Any, expect: dict[str, Any] | None, save: str | None = None) -> None:
        """Runs `call`; `expect` is `{"error": code}` or fields the result must have."""
        code = (expect or {}).get("error")
        try:
            got = call()
        except ri.RuntimeIdentityError as e:
            assert code is not None, f"expected success, got {e.code}: {e}"
            assert e.code == code, f"expected {code}, got {e.code}: {e}"
            return
        assert code is None, f"expected error {code}, got success {got!r}"
        if isinstance(got, ri.Credential):
            if save:
                self.saved[save] = got.token
            got = {"chain": got.agents, "on_behalf_of": got.on_behalf_of}
        elif isinstance(got, ri.Receipt):
            if save:
                self.saved[save] = got.token
            got = {}
        _subset(got, expect, "result")

    def step(self, step: dict[str, Any], tmp: Path) -> None:
        op, expect = step["op"], step.get("expect")
        rt = self.rt
        if op == "set_time":
            rt.set_time(step["now"])
        elif op == "check":
            self.check(step)
        elif op == "verify":
            self.outcome(lambda: rt.verify(self.value(step["token"])), expect)
        elif op == "delegate":
            self.outcome(
                lambda: rt.delegate(
                    to=step["to"],
                    on_behalf_of=step["on_behalf_of"],
                    scopes=step["scopes"],
                    ttl=step.get("ttl"),
                    purpose=step.get("purpose"),
                    max_depth=step.get("max_depth"),
                ),
                expect,
                step.get("save"),
            )
        elif op == "attenuate":
            self.outcome(
                lambda: rt.attenuate(
                    self.value(step["parent"]),
                    to=step["to"],
                    scopes=step["scopes"],
                    ttl=step.get("ttl"),
                    purpose=step.get("purpose"),
                    max_depth=step.get("max_depth"),
                    key=self.secret_key(step["key"]),
                ),
                expect,
                step.get("save"),
            )
        elif op == "revoke":
            grant = rt.verify(self.value(step["token"])).grant_id if "token" in step else step["grant_id"]
            self.outcome(lambda: rt.revoke(grant) and {}, expect)
        elif op in ("suspend_agent", "resume_agent", "revoke_agent"):
            self.outcome(lambda: getattr(rt, op)(step["id"]), expect)
        elif op == "register_agent":
            self.outcome(lambda: rt.register_agent(step["id"], owner=step["owner"]), expect)
        elif op == "load_policies":
            self.outcome(lambda: {"count": rt.load_policies(step["text"])}, expect)
        elif op == "upsert_resource":
            self.outcome(
                lambda: rt.upsert_resource(step["id"], data_class=step.get("data_class"), attributes=step.get("attributes")),
                expect,
            )
        elif op == "approve":
            self.outcome(
                lambda: rt.approve(self.value(step["request"]), step["approver"], attributes=step.get("attributes")),
                expect,
                step.get("save"),
            )
        elif op == "deny_approval":
            self.outcome(
                lambda: rt.deny_approval(self.value(step["request"]), step["approver"], attributes=step.get("attributes")),
                expect,
            )
        elif op == "record_outcome":
            ok = step["ok"]
            self.outcome(lambda: (rt.record_outcome(self.value(step["decision"]), ok, None if ok else "Error"), {})[1], expect)
        elif op == "import_authority_key":
            self.outcome(lambda: rt.import_authority_key(step["key"]), expect)
        elif op == "open":
            self.outcome(lambda: self._open(step["issuer"]) and {}, expect)
        elif op == "verify_audit_log":
            log = tmp / "audit.jsonl"
            end = "\n" if step.get("log_ends_with_newline", True) else ""
            log.write_text("\n".join(step["log"]) + end, encoding="utf-8")
            self.outcome(lambda: ri.verify_audit_log(log, issuer=step["issuer"], jwks=step["jwks"], anchor=step["anchor"]), expect)
        else:
            raise AssertionError(f"unknown op {op!r}")

    def check(self, step: dict[str, Any]) -> None:
        r = step["request"]
        approval = step.get("approval")
        d = self.rt.check(
            self.value(step["token"]),
            r["action"],
            r.get("resource"),
            r.get("args"),
            context=r.get("context"),
            approval=self.value(approval) if approval is not None else None,
            proof=step.get("proof"),
        )
        got = d.to_dict()
        got["reasons"] = [code for code, _ in d.reasons]
        _subset(got, step["expect"], "decision")
        if "save_decision" in step:
            self.saved[step["save_decision"]] = d.decision_id
        if "save_approval" in step:
            assert d.approval_request is not None
            self.saved[step["save_approval"]] = d.approval_request["id"]


@pytest.mark.parametrize(("doc", "case"), _cases())
def test_vector(doc: dict[str, Any], case: dict[str, Any], tmp_path: Path) -> None:
    setup = {**doc["setup"], **case.get("setup", {})}
    run = _Run(setup)
    for i, step in enumerate(case["steps"]):
        try:
            run.step(step, tmp_path)
        except AssertionError as e:
            raise AssertionError(f"{case['id']} ({case['title']}), step {i} ({step['op']}): {e}") from None
