"""The Python half of the cross-language interop run: what mint.py and decide.py share.

Every result is written in one normalised JSON form (the same as interop.mjs writes), so that
the two languages' results compare with `==`: the core's snake_case field names, errors as
`{type, code, message}` with the class name without its `Error` suffix, and nothing that
differs between two runs of the same request (decision ids, times of the call, approval ids).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import runtime_identity
from runtime_identity import Runtime, RuntimeIdentityError

FORMAT = "runtime-identity-interop/1"
REPO = Path(__file__).resolve().parents[2]

Json = Any


# --- RFC 8785 (JCS), written here from the RFC so that the action hash is checked against its definition


def _es_number(x: float | int) -> str:
    """A number as ECMAScript's Number::toString writes it (RFC 8785 §3.2.2.3)."""
    if isinstance(x, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(x, int):
        if abs(x) > 2**53:
            raise ValueError(f"integer {x} is not exact in IEEE 754 double precision")
        return str(x)
    if math.isnan(x) or math.isinf(x):
        raise ValueError("NaN and infinities have no JSON form")
    if x == 0:
        return "0"
    if x < 0:
        return "-" + _es_number(-x)
    mantissa, _, exp = repr(x).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    e10 = (int(exp) if exp else 0) - len(frac_part)  # x = int(digits) * 10**e10
    stripped = digits.rstrip("0")
    e10 += len(digits) - len(stripped)
    s, k = stripped, len(stripped)
    n = e10 + k  # x = 0.s * 10**n
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + s
    e = n - 1
    sign = "+" if e >= 0 else "-"
    return (s if k == 1 else s[0] + "." + s[1:]) + "e" + sign + str(abs(e))


def jcs(value: Json) -> str:
    """The RFC 8785 canonical JSON text of `value`."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return _es_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + jcs(value[k]) for k in keys) + "}"
    raise TypeError(f"not JSON: {value!r}")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def jcs_action_hash(request: dict[str, Json], verified: dict[str, Json]) -> str:
    """docs/ARCHITECTURE.md § Approval: SHA-256 of the JCS form of {action, resource, args, actor, on_behalf_of, grant_id}.
    A call without a resource is hashed with the resource `*` (the core's convention)."""
    bound = {
        "action": request["action"],
        "resource": request.get("resource") or "*",
        "args": request.get("args") or {},
        "actor": verified["actor"],
        "on_behalf_of": verified["on_behalf_of"],
        "grant_id": verified["grant_id"],
    }
    return b64url(hashlib.sha256(jcs(bound).encode("utf-8")).digest())


def args_digest(args: Json) -> str:
    """The audit log's `args_digest`: SHA-256 (hex) of the JCS form of the arguments."""
    return hashlib.sha256(jcs(args or {}).encode("utf-8")).hexdigest()


# --- Normalised results


def error_of(e: BaseException) -> dict[str, Json]:
    if not isinstance(e, RuntimeIdentityError):
        raise e
    name = type(e).__name__
    return {"type": name[: -len("Error")] if name.endswith("Error") else name, "code": e.code, "message": getattr(e, "message", str(e))}


def attempt(fn: Callable[[], Json]) -> dict[str, Json]:
    try:
        return {"ok": True, "value": fn()}
    except RuntimeIdentityError as e:
        return {"ok": False, "error": error_of(e)}


def credential_facts(cred: runtime_identity.Credential) -> dict[str, Json]:
    return {
        "grant_id": cred.grant_id,
        "actor": cred.actor,
        "on_behalf_of": cred.on_behalf_of,
        "agents": list(cred.agents),
        "expires_at": cred.expires_at_unix,
        "chain": [dict(link) for link in cred.chain],
    }


def verify(rt: Runtime, token: str) -> dict[str, Json]:
    r = attempt(lambda: credential_facts(rt.verify(token)))
    return {"ok": True, "credential": r["value"]} if r["ok"] else r


def decision_facts(d: runtime_identity.Decision) -> dict[str, Json]:
    raw = d.to_dict()
    out = {k: raw.get(k) for k in ("effect", "allowed", "reasons", "actor", "chain", "on_behalf_of", "grant_id", "policies", "action", "resource")}
    req = raw.get("approval_request")
    out["approval_request"] = None if req is None else {"action_hash": req["action_hash"], "reason": req["reason"]}
    out["approval_used"] = raw.get("approval_used")
    return out


class Clock:
    """Runtimes on the same folder at fixed times, for the cases that name one (`at`)."""

    def __init__(self, rt: Runtime, folder: Path, issuer: str):
        self.rt, self.folder, self.issuer = rt, folder, issuer
        self.fixed: Runtime | None = None

    def at(self, when: int | None) -> Runtime:
        if when is None:
            return self.rt
        if self.fixed is None:
            self.fixed = Runtime.open(self.folder, issuer=self.issuer, fixed_time=when)
        else:
            self.fixed.set_time(when)
        return self.fixed

    def close(self) -> None:
        if self.fixed is not None:
            self.fixed.close()


def when_of(at: Json, verified: dict[str, Json]) -> int | None:
    """`{"from": "expires_at" | "issued_at", "offset": s}`: relative to the verified leaf link."""
    if at is None:
        return None
    leaf = verified["credential"]["chain"][-1]
    return int(leaf[at["from"]]) + int(at["offset"])


def check(clock: Clock, token: str, case: dict[str, Json], verified: dict[str, Json]) -> dict[str, Json]:
    """One check of a case: the decision, its id (for the audit log) and the action hash."""
    req = case["request"]
    rt = clock.at(when_of(case.get("at"), verified))
    binding = attempt(lambda: rt.action_hash(token, req["action"], req.get("resource"), req.get("args")))
    jcs_hash = jcs_action_hash(req, verified["credential"]) if verified["ok"] else None
    d = rt.check(token, req["action"], req.get("resource"), req.get("args"), req.get("context"), approval=case.get("approval"))
    req_raw = d.approval_request
    return {
        "decision": decision_facts(d),
        "decision_id": d.decision_id,
        "request_id": None if req_raw is None else req_raw["id"],
        "action_hash": {"binding": binding, "jcs": jcs_hash},
    }


def consistency(name: str, result: dict[str, Json]) -> list[str]:
    """What must hold within one language: the binding's action hash, the approval request's
    and the one computed here from the design's definition are one value."""
    problems = []
    ah, d = result["action_hash"], result["decision"]
    if ah["binding"]["ok"] and ah["jcs"] is not None and ah["binding"]["value"] != ah["jcs"]:
        problems.append(f"{name}: action_hash() = {ah['binding']['value']} but the JCS definition gives {ah['jcs']}")
    if d["approval_request"] is not None and ah["jcs"] is not None and d["approval_request"]["action_hash"] != ah["jcs"]:
        problems.append(f"{name}: approval_request.action_hash = {d['approval_request']['action_hash']} but the JCS definition gives {ah['jcs']}")
    return problems


def first_code(result: dict[str, Json]) -> str:
    """The first reason code of a decision, the error code of a failed attempt, or `ok`."""
    if "reasons" in result:
        return str(result["reasons"][0]["code"])
    return "ok" if result["ok"] else str(result["error"]["code"])


def expectation(case: dict[str, Json], result: dict[str, Json]) -> list[str]:
    """The plan's `expect` (a sanity check of the scenario itself, so that two languages
    cannot agree on a scenario gone wrong, e.g. every call denied)."""
    if "expect" not in case or first_code(result) == case["expect"]:
        return []
    return [f"{case['name']}: expected {case['expect']}, got {first_code(result)}: {result.get('reasons') or result.get('error')}"]


# What every approval flow must show, in either language.
FLOW = {
    "first": "approval_required",
    "approved": "approved",
    "reused": "approval_invalid",
    "second": "approval_required",
    "agent_approver": "approver_not_allowed",
    "deny": "ok",
    "approve_after_deny": "approval_invalid",
    "third": "approval_required",
    "other_call": "approval_invalid",
    "cross_other_call": "approval_invalid",
    "cross_approved": "approved",
    "cross_reused": "approval_invalid",
}


def flow_expectations(name: str, results: dict[str, Json]) -> list[str]:
    problems = []
    for step, code in FLOW.items():
        if step in results:
            r = results[step]
            got = first_code(r["decision"] if "decision" in r else r)
            if got != code:
                problems.append(f"{name} / {step}: expected {code}, got {got}")
        elif not step.startswith("cross_"):
            problems.append(f"{name}: step {step} missing")
    return problems


def agents(rt: Runtime, ids: list[str]) -> list[dict[str, Json]]:
    return [rt.get_agent(i) for i in ids]


def policies_dir(folder: Path) -> Path:
    return folder / "policies"


def load_json(path: str | Path) -> Json:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_json(path: str | Path, value: Json) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=1, ensure_ascii=False)
        f.write("\n")


def version_info() -> dict[str, str]:
    return {"language": "python", "runtime": sys.version.split()[0], "package": runtime_identity.__version__}


# --- Tampering (the minting side makes these tokens; the other side only reads them)


def tamper(token: str, link: int, how: str) -> str:
    # The last part is the seal, not a link: tampering keeps it (`drop_link` of the last link
    # leaves a prefix with the leaf's seal).
    links = token.split("~")
    header, payload, signature = links[link].split(".")
    if how == "claims_byte":  # one byte of the decoded claims changed (still valid JSON), signature kept
        raw = bytearray(b64url_decode(payload))
        at = raw.index(b'"sub":"') + len(b'"sub":"')
        raw[at] = ord("U") if raw[at] != ord("U") else ord("V")
        links[link] = ".".join([header, b64url(bytes(raw)), signature])
    elif how == "signature_char":  # one character in the middle of the signature changed
        mid = len(signature) // 2
        links[link] = ".".join([header, payload, signature[:mid] + ("A" if signature[mid] != "A" else "B") + signature[mid + 1 :]])
    elif how == "drop_link":
        del links[link]
    elif how == "swap_with_next":
        links[link], links[link + 1] = links[link + 1], links[link]
    elif how == "alg_none":
        h = json.loads(b64url_decode(header))
        h["alg"] = "none"
        links[link] = ".".join([b64url(json.dumps(h, separators=(",", ":")).encode()), payload, ""])
    elif how == "strip_signature":
        links[link] = ".".join([header, payload, ""])
    elif how == "garbage":
        return "not-a-token"
    else:
        raise ValueError(f"unknown tampering `{how}`")
    return "~".join(links)


# --- Masking what differs between two runs of the same flow (new grant ids, approval ids, times)


def mask(value: Json, names: dict[str, str]) -> Json:
    """`value` with every occurrence of each key of `names` (ids) replaced by its placeholder."""
    if isinstance(value, str):
        for old, new in names.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [mask(v, names) for v in value]
    if isinstance(value, dict):
        return {k: mask(v, names) for k, v in value.items()}
    return value


# --- Flows shared by both sides


def pick(d: dict[str, Json], keys: tuple[str, ...]) -> dict[str, Json]:
    return {k: d.get(k) for k in keys}


def approval_flow(clock: Clock, token: str, case: dict[str, Json], verified: dict[str, Json], cross_receipt: str | None) -> dict[str, Json]:
    """require_approval → approve → allowed once → refused when reused; an agent may not approve;
    a denied request cannot be approved; a receipt does not fit another call. Returns the
    results with approval ids masked, and one approved, unconsumed receipt for the other
    language. With `cross_receipt` (the other language's receipt), it is then used for another
    call, for its own call, and again."""
    rt = clock.rt
    approver = case["approver"]
    base = {"request": case["request"]}
    other = {"request": {**case["request"], "args": case["other_args"]}}
    ids: dict[str, str] = {}
    out: dict[str, Json] = {}

    def run(name: str, c: dict[str, Json], approval: str | None = None) -> dict[str, Json]:
        r = check(clock, token, {**c, "approval": approval}, verified)
        out[name] = r
        return r

    def request_id(name: str) -> str:
        rid = run(name, base)["request_id"]
        if rid is None:
            raise AssertionError(f"{case['name']}: `{name}` did not ask for an approval")
        ids[rid] = "<approval id>"
        return str(rid)

    first = run("first", base)
    if first["request_id"] is None:
        return {"results": out, "receipt": None}
    ids[first["request_id"]] = "<approval id>"
    receipt = rt.approve(first["request_id"], approver)
    out["receipt"] = pick(receipt.approval, ("action_hash", "action", "resource", "args", "actor", "on_behalf_of", "grant_id", "status", "decided_by", "reason"))
    run("approved", base, receipt.token)
    run("reused", base, receipt.token)

    second = request_id("second")
    out["agent_approver"] = attempt(lambda: rt.approve(second, verified["credential"]["actor"]).id)
    out["deny"] = attempt(lambda: pick(rt.deny_approval(second, approver), ("status", "decided_by")))
    out["approve_after_deny"] = attempt(lambda: rt.approve(second, approver).id)

    third = request_id("third")
    fresh = rt.approve(third, approver)
    run("other_call", other, fresh.token)
    if cross_receipt is not None:
        cross_id = json.loads(b64url_decode(cross_receipt.split(".")[1]))["jti"]
        ids[cross_id] = "<approval id>"  # the other language's third request
        run("cross_other_call", other, cross_receipt)
        run("cross_approved", base, cross_receipt)
        run("cross_reused", base, cross_receipt)
    return {"results": mask(out, ids), "receipt": fresh.token}


def handoff(clock: Clock, parent_token: str, case: dict[str, Json]) -> dict[str, Json]:
    """Attenuates a credential received as a token, with the parent agent's key from the shared
    folder, then verifies and checks the new credential. Returns the raw results (`token`,
    `verify`, `checks`) and the masked outcome compared across languages."""
    rt = clock.rt
    made = attempt(
        lambda: rt.attenuate(
            parent_token, to=case["to"], scopes=case["scopes"], ttl=case.get("ttl"), purpose=case.get("purpose"), max_depth=case.get("max_depth")
        ).token
    )
    if not made["ok"]:
        return {"outcome": made}
    token = made["value"]
    verified = verify(rt, token)
    parent = verify(rt, parent_token)
    checks = [check(clock, token, {"request": req}, verified) for req in case.get("checks", [])]
    raw = {"token": token, "verify": verified, "checks": checks}
    if not verified["ok"]:
        return {"outcome": {"ok": True, "verify": verified}, "raw": raw}
    cred, pcred = verified["credential"], parent["credential"]
    leaf = cred["chain"][-1]
    names = {leaf["grant_id"]: "<new grant>"}
    facts = dict(cred)
    facts["expires_at"] = "<= parent" if cred["expires_at"] <= pcred["expires_at"] else cred["expires_at"]
    chain = [dict(link) for link in cred["chain"]]
    chain[-1]["issued_at"] = "<now>"
    chain[-1]["expires_at"] = facts["expires_at"]
    facts["chain_prefix_is_parent"] = chain[:-1] == pcred["chain"]
    facts["chain"] = chain[-1:]
    outcome = {
        "ok": True,
        "verify": {"ok": True, "credential": mask(facts, names)},
        "checks": [mask(c["decision"], names) for c in checks],
    }
    return {"outcome": outcome, "raw": raw}


# --- Comparing the other language's results with ours


class Comparison:
    """Collects differences between the file's results (`theirs`) and ours, with paths."""

    def __init__(self, theirs: str, ours: str):
        self.theirs, self.ours = theirs, ours
        self.diffs: list[str] = []
        self.notes: list[str] = []
        self.compared = 0

    def same(self, what: str, expected: Json, got: Json) -> bool:
        self.compared += 1
        found = list(_diff(expected, got, ""))
        for path, a, b in found[:20]:
            self.diffs.append(
                f"{what}: {path or '(value)'}\n      {self.theirs + ':':8} {json.dumps(a, ensure_ascii=False)}\n      {self.ours + ':':8} {json.dumps(b, ensure_ascii=False)}"
            )
        return not found

    def check_result(self, what: str, expected: dict[str, Json], got: dict[str, Json]) -> None:
        """A check's decision and action hash (the JCS one always; the binding's where both have one)."""
        self.same(what, expected["decision"], got["decision"])
        self.same(f"{what} (action hash, JCS)", expected["action_hash"]["jcs"], got["action_hash"]["jcs"])
        a, b = expected["action_hash"]["binding"], got["action_hash"]["binding"]
        if a.get("unavailable") or b.get("unavailable"):
            note = "the Node binding has no Runtime.actionHash: its action hash is checked through approval_request.action_hash and the JCS definition only"
            if note not in self.notes:
                self.notes.append(note)
        else:
            self.same(f"{what} (action_hash())", a, b)


def _diff(a: Json, b: Json, path: str):  # type: ignore[no-untyped-def]
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                yield f"{path}.{k}", a.get(k, "<absent>"), b.get(k, "<absent>")
            else:
                yield from _diff(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{path} (length {len(a)} vs {len(b)})", a, b
        else:
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                yield from _diff(x, y, f"{path}[{i}]")
    elif isinstance(a, bool) or isinstance(b, bool):
        if a is not b:
            yield path, a, b
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if a != b:
            yield path, a, b
    elif a != b or type(a) is not type(b):
        yield path, a, b


AUDIT_VOLATILE = ("seq", "ts", "decision_id", "prev", "hash", "approval_id")


def audit_event(rt: Runtime, decision_id: str) -> Json:
    """The decision event of `decision_id`, without what differs between two runs of one call."""
    events = rt.audit.events(decision_id=decision_id, type="decision")
    if len(events) != 1:
        return {"error": f"{len(events)} decision events for {decision_id}"}
    return {k: v for k, v in events[0].items() if k not in AUDIT_VOLATILE}
