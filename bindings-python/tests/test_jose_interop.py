"""Every link of a delegation chain is an ordinary JWT: PyJWT (with `cryptography`) verifies
each one with the key the design names — link 0 with the authority's JWKS (by `kid`), link
i > 0 with the `cnf.jwk` of link i - 1 — and reads the same claims as `rt.verify`. A link with
one changed byte is refused by PyJWT and by us alike; a link checked against the wrong key is
refused by PyJWT. The token ends with its seal (the last link's `nxt` private key, an
ordinary Ed25519 seed that `cryptography` reads): split it off to verify the links, and a
prefix of the chain is refused for want of its own seal."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwt.types import Options
from runtime_identity import Credential, InvalidCredential, Runtime, Scope

ALICE = "user:alice@acme"
AGENTS = ["agent:acme/planner", "agent:acme/researcher", "agent:acme/fetcher"]
TYP = "rid-delegation+jwt"
Alg = Literal["ES256", "EdDSA"]
UNCHECKED_ISS_AUD: Options = {"verify_iss": False, "verify_aud": False}
# Our scope names -> RFC 9396 names on the wire.
WIRE_NAMES = {"actions": "actions", "resources": "locations", "data_classes": "datatypes", "constraints": "constraints", "limits": "limits"}


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass
class Chain:
    rt: Runtime
    alg: Alg
    cred: Credential
    links: list[str]
    seal: str


def three_links(alg: Alg) -> Chain:
    """authority -> planner -> researcher -> fetcher, every key of algorithm `alg`."""
    rt = Runtime.in_memory("org:acme", alg=alg)
    for agent in AGENTS:
        rt.register_agent(agent, owner=ALICE, org="acme", alg=alg)
    rt.upsert_resource("customer/42", data_class="internal")
    root = rt.delegate(
        to=AGENTS[0],
        on_behalf_of=ALICE,
        scopes=[
            Scope("crm.*", resources=["customer/*"], data_classes=["internal", "public"]),
            Scope("payments.refund", resources=["customer/*"], constraints={"amount": {"max": 100}, "currency": {"in": ["USD", "EUR"]}}, limits={"max_uses": 10}),
        ],
        ttl="30m",
        purpose="ticket 4711",
    )
    mid = root.attenuate(
        to=AGENTS[1],
        scopes=[
            Scope("crm.read", resources=["customer/*"], data_classes=["internal"]),
            Scope("payments.refund", resources=["customer/42"], constraints={"amount": {"max": 50, "min": 1}, "currency": {"eq": "USD"}}, limits={"max_uses": 3}),
        ],
        ttl="20m",
    )
    leaf = mid.attenuate(to=AGENTS[2], scopes=[Scope("crm.read", resources=["customer/42"], data_classes=["internal"])], purpose="fetch the ticket's customer")
    *links, seal = leaf.token.split("~")
    assert len(links) == 3
    return Chain(rt, alg, leaf, links, seal)


def seal_public_x(seal: str) -> str:
    """The `x` of the Ed25519 public key whose private seed is `seal`."""
    public = Ed25519PrivateKey.from_private_bytes(b64url_decode(seal)).public_key()
    return b64url_encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw))


@pytest.fixture(params=["ES256", "EdDSA"])
def chain(request: pytest.FixtureRequest) -> Chain:
    return three_links(request.param)


def authority_key(rt: Runtime, link: str) -> jwt.PyJWK:
    kid = jwt.get_unverified_header(link)["kid"]
    matching = [k for k in rt.jwks()["keys"] if k["kid"] == kid]
    assert len(matching) == 1, f"kid {kid} not in the authority's JWKS"
    return jwt.PyJWK(matching[0])


def verify_links(c: Chain) -> list[dict[str, Any]]:
    """Verifies every link with PyJWT, each with the key it must be signed by."""
    out: list[dict[str, Any]] = []
    for i, link in enumerate(c.links):
        header = jwt.get_unverified_header(link)
        assert header["typ"] == TYP and header["alg"] == c.alg, header
        key = authority_key(c.rt, link) if i == 0 else jwt.PyJWK(out[-1]["cnf"]["jwk"])
        if i > 0:
            assert header["kid"] == out[-1]["cnf"]["jwk"]["kid"]
        unverified = jwt.decode(link, options={"verify_signature": False})
        claims = jwt.decode(link, key, algorithms=[c.alg], audience=unverified["aud"], issuer=unverified["iss"])
        out.append(claims)
    return out


def expected_claims(c: Chain, verified: Credential, i: int) -> dict[str, Any]:
    """The claims of link `i` as they follow from `rt.verify(token).chain` and the registry."""
    link = verified.chain[i]
    act: dict[str, Any] = {"sub": verified.chain[0]["actor"]}
    for up in verified.chain[1 : i + 1]:
        act = {"sub": up["actor"], "act": act}
    rid: dict[str, Any] = {"depth": link["depth"], "max_depth": link["max_depth"]}
    if link["purpose"] is not None:
        rid["purpose"] = link["purpose"]
    if i > 0:
        rid["prf"] = b64url_encode(hashlib.sha256(c.links[i - 1].encode("ascii")).digest())
    return {
        "iss": link["issuer"],
        "sub": verified.on_behalf_of,
        "aud": c.rt.issuer,
        "iat": link["issued_at"],
        "exp": link["expires_at"],
        "jti": link["grant_id"],
        "act": act,
        "cnf": {"jwk": c.rt.get_agent(link["actor"])["keys"][-1]["jwk"]},
        "authorization_details": [
            {"type": "rid_scope", **{WIRE_NAMES[k]: v for k, v in scope.items()}} for scope in link["scopes"]
        ],
        "rid": rid,
    }


def test_every_link_verifies_with_pyjwt_and_reads_as_ours(chain: Chain) -> None:
    claims = verify_links(chain)
    assert len(claims) == 3
    verified = chain.rt.verify(chain.cred.token)
    assert verified.chain == chain.cred.chain
    assert [link["actor"] for link in verified.chain] == AGENTS
    assert [link["issuer"] for link in verified.chain] == ["org:acme", *AGENTS[:2]]
    for i, got in enumerate(claims):
        got = dict(got)
        nbf = got.pop("nbf")
        assert nbf <= got["iat"], (i, nbf, got["iat"])
        got["rid"] = dict(got["rid"])
        nxt = got["rid"].pop("nxt")
        assert set(nxt) == {"kty", "crv", "x"} and (nxt["kty"], nxt["crv"]) == ("OKP", "Ed25519"), nxt
        if i == len(claims) - 1:
            assert nxt["x"] == seal_public_x(chain.seal)
        else:
            assert nxt["x"] != seal_public_x(chain.seal)
        assert got == expected_claims(chain, verified, i), f"link {i}"
    # The chain's rules, read from PyJWT's output: one subject, expiry never grows, depth counts up.
    assert {c["sub"] for c in claims} == {ALICE}
    assert [c["rid"]["depth"] for c in claims] == [0, 1, 2]
    assert all(a["exp"] >= b["exp"] for a, b in zip(claims, claims[1:], strict=False))
    assert claims[-1]["jti"] == verified.grant_id == chain.cred.grant_id


def tamper_claims(link: str) -> str:
    """One byte of the decoded claims changed (still valid JSON), the signature kept."""
    header, payload, signature = link.split(".")
    raw = bytearray(b64url_decode(payload))
    at = raw.index(b'"sub":"') + len(b'"sub":"')
    raw[at] = ord("U") if raw[at] != ord("U") else ord("V")
    return ".".join([header, b64url_encode(bytes(raw)), signature])


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_tampered_link_is_refused_by_pyjwt_and_by_us(chain: Chain, index: int) -> None:
    links = list(chain.links)
    links[index] = tamper_claims(links[index])
    assert links[index] != chain.links[index]
    assert jwt.decode(links[index], options={"verify_signature": False})["sub"] != ALICE
    # PyJWT, with the key this link must be signed by.
    good = verify_links(chain)
    key = authority_key(chain.rt, links[0]) if index == 0 else jwt.PyJWK(good[index - 1]["cnf"]["jwk"])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(links[index], key, algorithms=[chain.alg], audience="org:acme", options={"verify_iss": False})
    # And us: verify raises, check denies.
    token = "~".join([*links, chain.seal])
    with pytest.raises(InvalidCredential) as e:
        chain.rt.verify(token)
    assert e.value.code == "signature_invalid", e.value
    assert f"link {index}" in str(e.value)
    decision = chain.rt.check(token, "crm.read", "customer/42")
    assert not decision.allowed and decision.effect == "deny"
    assert decision.code == "credential_invalid"
    # The untouched chain still passes the same check.
    assert chain.rt.check(chain.cred.token, "crm.read", "customer/42").code == "granted"


def test_a_flipped_character_in_the_encoded_claims_is_refused(chain: Chain) -> None:
    header, payload, signature = chain.links[1].split(".")
    mid = len(payload) // 2
    flipped = payload[:mid] + ("A" if payload[mid] != "A" else "B") + payload[mid + 1 :]
    link = ".".join([header, flipped, signature])
    key = jwt.PyJWK(verify_links(chain)[0]["cnf"]["jwk"])
    with pytest.raises((jwt.InvalidSignatureError, jwt.DecodeError)):
        jwt.decode(link, key, algorithms=[chain.alg], audience="org:acme", options={"verify_iss": False})
    token = "~".join([chain.links[0], link, chain.links[2], chain.seal])
    with pytest.raises(InvalidCredential) as e:
        chain.rt.verify(token)
    assert e.value.code in {"signature_invalid", "token_malformed"}, e.value
    assert chain.rt.check(token, "crm.read", "customer/42").code == "credential_invalid"


def test_a_link_checked_against_the_wrong_key_is_refused(chain: Chain) -> None:
    claims = verify_links(chain)
    authority = authority_key(chain.rt, chain.links[0])
    options = UNCHECKED_ISS_AUD
    # Link 1 and 2 are signed by agents, not by the authority.
    for link in chain.links[1:]:
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(link, authority, algorithms=[chain.alg], options=options)
    # Link 0 is not signed by the key it delegates to, nor link 2 by its grandparent's key.
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(chain.links[0], jwt.PyJWK(claims[0]["cnf"]["jwk"]), algorithms=[chain.alg], options=options)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(chain.links[2], jwt.PyJWK(claims[0]["cnf"]["jwk"]), algorithms=[chain.alg], options=options)
    # The other algorithm is refused outright.
    other: Alg = "EdDSA" if chain.alg == "ES256" else "ES256"
    with pytest.raises(jwt.InvalidAlgorithmError):
        jwt.decode(chain.links[0], authority, algorithms=[other], options=options)
    # A runtime of another authority knows none of these keys.
    stranger = Runtime.in_memory("org:acme", alg=chain.alg)
    with pytest.raises(InvalidCredential) as e:
        stranger.verify(chain.cred.token)
    assert e.value.code == "unknown_key", e.value
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(chain.links[0], jwt.PyJWK(stranger.jwks()["keys"][0]), algorithms=[chain.alg], options=options)


def test_pyjwt_enforces_the_audience_and_issuer_the_links_carry(chain: Chain) -> None:
    claims = verify_links(chain)
    key = jwt.PyJWK(claims[0]["cnf"]["jwk"])
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(chain.links[1], key, algorithms=[chain.alg], audience="org:other", issuer=AGENTS[0])
    with pytest.raises(jwt.InvalidIssuerError):
        jwt.decode(chain.links[1], key, algorithms=[chain.alg], audience="org:acme", issuer="org:acme")
    # The JWKS is plain JSON every JOSE library reads: one signing key of our algorithm.
    jwks = json.loads(json.dumps(chain.rt.jwks()))
    assert [(k["alg"], k["use"]) for k in jwks["keys"]] == [(chain.alg, "sig")]
    assert all("d" not in k for k in jwks["keys"])


def test_a_prefix_of_the_chain_is_refused_for_want_of_its_seal(chain: Chain) -> None:
    """Issue 16 item 3: a sub-agent drops its last link to act with its parent's grant."""
    for cut in (1, 2):
        for token in ("~".join([*chain.links[:cut], chain.seal]), "~".join(chain.links[:cut])):
            with pytest.raises(InvalidCredential) as e:
                chain.rt.verify(token)
            assert e.value.code == "seal_invalid", e.value
            assert chain.seal not in str(e.value)
            decision = chain.rt.check(token, "crm.read", "customer/42")
            assert decision.code == "credential_invalid" and not decision.allowed
    # The whole chain passes: each link still verifies with PyJWT (above), the seal with us.
    assert chain.rt.check(chain.cred.token, "crm.read", "customer/42").code == "granted"
    assert chain.seal not in repr(chain.cred)
