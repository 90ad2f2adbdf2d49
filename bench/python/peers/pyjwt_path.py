"""PyJWT (with ``cryptography``): EdDSA (Ed25519) decode + verify of a pre-minted JWT, alone.

A lower bound for "verify a signed credential", not an authorization engine: it is marked
``verify_only``. Each agent gets one JWT minted in ``prepare`` with the scopes of the rules
naming it (``sub``, ``iss``, ``iat``, ``exp``, ``act`` for a delegation, ``scope``). PyJWT checks
``exp``/``iat`` against the wall clock (it takes no caller-supplied time), so the tokens are
issued at the real current time with the delegation's lifetime.

``decide`` is the token's validity plus a trivial claim check (``sub`` is the request's agent
and a scope names the action with a matching resource prefix). That cannot honestly model the
scenario: the pci forbid (F01) needs the resource's data class and the agent's clearance, the
amount/currency limits and the scenario's fixed ``now`` need decision logic JWT does not have.
Its answers are therefore reported, not required to match.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .harness import Call, Path
from .scenario import Request, Scenario

ISSUER = "org:acme"
ALGORITHMS = ["EdDSA"]


@dataclass(frozen=True)
class JwtState:
    key: Ed25519PublicKey
    tokens: Mapping[str, str]


def claims(scenario: Scenario, agent: str, issued_at: int) -> dict[str, Any]:
    """The agent's token claims: the rules naming it (or any agent) as scopes."""
    spec = scenario["agents"][agent]
    d = spec.get("delegation")
    ttl = int(d["expires_at"]) - int(scenario["now"]) if d else 30 * 86400
    scope = [
        {"action": r["action"], "resource": r["prefix"] + "*", **({"cond": r["cond"]} if r["cond"] else {})}
        for r in scenario["rules"]
        if r["effect"] == "allow" and r["agent"] in (agent, "*")
    ]
    out: dict[str, Any] = {"iss": ISSUER, "sub": agent, "iat": issued_at, "exp": issued_at + ttl, "scope": scope}
    if d:
        out["act"] = {"sub": d["delegator"]}
    return out


def prepare(scenario: Scenario) -> JwtState:
    private = Ed25519PrivateKey.generate()
    issued_at = int(time.time())
    tokens = {
        name: jwt.encode(claims(scenario, name, issued_at), private, algorithm="EdDSA") for name in scenario["agents"]
    }
    return JwtState(private.public_key(), tokens)


def call(state: JwtState, request: Request) -> Call:
    token, key, decode = state.tokens[request["agent"]], state.key, jwt.decode
    return lambda: decode(token, key, algorithms=ALGORITHMS, issuer=ISSUER)


def decide(state: JwtState, request: Request) -> bool:
    try:
        payload = jwt.decode(state.tokens[request["agent"]], state.key, algorithms=ALGORITHMS, issuer=ISSUER)
    except jwt.InvalidTokenError:
        return False
    return payload["sub"] == request["agent"] and any(
        s["action"] == request["action"] and request["resource"].startswith(s["resource"].rstrip("*"))
        for s in payload["scope"]
    )


PATH: Path[JwtState] = Path(
    name="jwt.decode EdDSA alone (no decision)",
    library="PyJWT",
    prepare=prepare,
    decide=decide,
    call=call,
    verify_only=True,
    packages=("PyJWT", "cryptography"),
    note="decode + Ed25519 verify + exp/iat/iss checks of the agent's pre-minted token; no authorization decision",
)
