'use strict'
// Every link of a delegation chain is an ordinary JWT: `jose` verifies each one with the key
// the design names — link 0 with the authority's JWKS (by `kid`), link i > 0 with the
// `cnf.jwk` of link i - 1 — and reads the same claims as `rt.verify`. A link with one changed
// byte is refused by jose and by us alike; a link checked against the wrong key is refused by
// jose. The token ends with its seal (the last link's `nxt` private key, an ordinary Ed25519
// seed that node:crypto reads): split it off to verify the links, and a prefix of the chain
// is refused for want of its own seal. (The same checks as
// bindings-python/tests/test_jose_interop.py, with PyJWT.)
const { test, before } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { Runtime, InvalidCredentialError } = require('..')

const ALICE = 'user:alice@acme'
const AGENTS = ['agent:acme/planner', 'agent:acme/researcher', 'agent:acme/fetcher']
const TYP = 'rid-delegation+jwt'
// Our scope names -> RFC 9396 names on the wire.
const WIRE_NAMES = { actions: 'actions', resources: 'locations', data_classes: 'datatypes', constraints: 'constraints', limits: 'limits' }

let jose
before(async () => {
  jose = await import('jose')
})

const b64urlDecode = (part) => Buffer.from(part, 'base64url')
const b64urlEncode = (buf) => Buffer.from(buf).toString('base64url')

/** authority -> planner -> researcher -> fetcher, every key of algorithm `alg`. */
function threeLinks(alg) {
  const rt = Runtime.inMemory({ issuer: 'org:acme', alg })
  for (const agent of AGENTS) rt.registerAgent(agent, { owner: ALICE, org: 'acme', alg })
  rt.upsertResource('customer/42', { dataClass: 'internal' })
  const root = rt.delegate({
    to: AGENTS[0],
    onBehalfOf: ALICE,
    scopes: [
      { actions: ['crm.*'], resources: ['customer/*'], dataClasses: ['internal', 'public'] },
      { actions: ['payments.refund'], resources: ['customer/*'], constraints: { amount: { max: 100 }, currency: { in: ['USD', 'EUR'] } }, limits: { max_uses: 10 } },
    ],
    ttl: '30m',
    purpose: 'ticket 4711',
  })
  const mid = root.attenuate({
    to: AGENTS[1],
    scopes: [
      { actions: ['crm.read'], resources: ['customer/*'], dataClasses: ['internal'] },
      { actions: ['payments.refund'], resources: ['customer/42'], constraints: { amount: { max: 50, min: 1 }, currency: { eq: 'USD' } }, limits: { max_uses: 3 } },
    ],
    ttl: '20m',
  })
  const leaf = mid.attenuate({ to: AGENTS[2], scopes: [{ actions: ['crm.read'], resources: ['customer/42'], dataClasses: ['internal'] }], purpose: "fetch the ticket's customer" })
  const links = leaf.token.split('~')
  const seal = links.pop()
  assert.equal(links.length, 3)
  return { rt, alg, cred: leaf, links, seal }
}

/** The `x` of the Ed25519 public key whose private seed is `seal`. */
function sealPublicX(seal) {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), b64urlDecode(seal)])
  const key = crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
  return crypto.createPublicKey(key).export({ format: 'jwk' }).x
}

/** Verifies every link with jose, each with the key it must be signed by; returns the payloads. */
async function verifyLinks(c) {
  const authority = jose.createLocalJWKSet(c.rt.jwks())
  const out = []
  for (const [i, link] of c.links.entries()) {
    const header = jose.decodeProtectedHeader(link)
    assert.equal(header.typ, TYP)
    assert.equal(header.alg, c.alg)
    let key = authority
    if (i > 0) {
      const jwk = out[i - 1].cnf.jwk
      assert.equal(header.kid, jwk.kid)
      key = await jose.importJWK(jwk, c.alg)
    }
    const unverified = jose.decodeJwt(link)
    const { payload, protectedHeader } = await jose.jwtVerify(link, key, {
      algorithms: [c.alg],
      typ: TYP,
      issuer: unverified.iss,
      audience: unverified.aud,
    })
    assert.equal(protectedHeader.kid, header.kid)
    out.push(payload)
  }
  return out
}

/** The claims of link `i` as they follow from `rt.verify(token).chain` and the registry. */
function expectedClaims(c, verified, i) {
  const link = verified.chain[i]
  let act = { sub: verified.chain[0].actor }
  for (const up of verified.chain.slice(1, i + 1)) act = { sub: up.actor, act }
  const rid = { depth: link.depth, max_depth: link.maxDepth }
  if (link.purpose !== null) rid.purpose = link.purpose
  if (i > 0) rid.prf = b64urlEncode(crypto.createHash('sha256').update(c.links[i - 1], 'ascii').digest())
  return {
    iss: link.issuer,
    sub: verified.onBehalfOf,
    aud: c.rt.issuer,
    iat: link.issuedAt,
    exp: link.expiresAt,
    jti: link.grantId,
    act,
    cnf: { jwk: c.rt.getAgent(link.actor).keys.at(-1).jwk },
    authorization_details: link.scopes.map((scope) => ({
      type: 'rid_scope',
      ...Object.fromEntries(Object.entries(scope).map(([k, v]) => [WIRE_NAMES[k], v])),
    })),
    rid,
  }
}

/** One byte of the decoded claims changed (still valid JSON), the signature kept. */
function tamperClaims(link) {
  const [header, payload, signature] = link.split('.')
  const raw = b64urlDecode(payload)
  const at = raw.indexOf('"sub":"') + '"sub":"'.length
  raw[at] = raw[at] === 0x55 ? 0x56 : 0x55 // 'U' or 'V'
  return [header, b64urlEncode(raw), signature].join('.')
}

const isCode = (code) => (e) => {
  assert.equal(e.code, code, `${e.code}: ${e.message}`)
  return true
}

for (const alg of ['ES256', 'EdDSA']) {
  test(`${alg}: every link verifies with jose and reads as ours`, async () => {
    const c = threeLinks(alg)
    const claims = await verifyLinks(c)
    assert.equal(claims.length, 3)
    const verified = c.rt.verify(c.cred.token)
    assert.deepEqual(verified.chain, c.cred.chain)
    assert.deepEqual(verified.chain.map((l) => l.actor), AGENTS)
    assert.deepEqual(verified.chain.map((l) => l.issuer), ['org:acme', ...AGENTS.slice(0, 2)])
    for (const [i, got] of claims.entries()) {
      const { nbf, ...rest } = got
      assert.ok(nbf <= rest.iat, `link ${i}: nbf ${nbf} after iat ${rest.iat}`)
      const { nxt, ...rid } = rest.rid
      rest.rid = rid
      assert.deepEqual(Object.keys(nxt).sort(), ['crv', 'kty', 'x'])
      assert.deepEqual([nxt.kty, nxt.crv], ['OKP', 'Ed25519'])
      if (i === claims.length - 1) assert.equal(nxt.x, sealPublicX(c.seal))
      else assert.notEqual(nxt.x, sealPublicX(c.seal))
      assert.deepEqual(rest, expectedClaims(c, verified, i), `link ${i}`)
    }
    // The chain's rules, read from jose's output: one subject, expiry never grows, depth counts up.
    assert.deepEqual([...new Set(claims.map((x) => x.sub))], [ALICE])
    assert.deepEqual(claims.map((x) => x.rid.depth), [0, 1, 2])
    for (let i = 1; i < claims.length; i++) assert.ok(claims[i].exp <= claims[i - 1].exp)
    assert.equal(claims.at(-1).jti, verified.grantId)
    assert.equal(verified.grantId, c.cred.grantId)
  })

  for (const index of [0, 1, 2]) {
    test(`${alg}: link ${index} with one changed byte is refused by jose and by us`, async () => {
      const c = threeLinks(alg)
      const good = await verifyLinks(c)
      const links = [...c.links]
      links[index] = tamperClaims(links[index])
      assert.notEqual(links[index], c.links[index])
      assert.notEqual(jose.decodeJwt(links[index]).sub, ALICE)
      const key = index === 0 ? jose.createLocalJWKSet(c.rt.jwks()) : await jose.importJWK(good[index - 1].cnf.jwk, alg)
      await assert.rejects(jose.jwtVerify(links[index], key, { algorithms: [alg], typ: TYP, audience: 'org:acme' }), jose.errors.JWSSignatureVerificationFailed)
      // And us: verify throws, check denies.
      const token = [...links, c.seal].join('~')
      assert.throws(() => c.rt.verify(token), (e) => {
        assert.ok(e instanceof InvalidCredentialError, e)
        assert.match(e.message, new RegExp(`link ${index}`))
        return isCode('signature_invalid')(e)
      })
      const decision = c.rt.check(token, { action: 'crm.read', resource: 'customer/42' })
      assert.equal(decision.allowed, false)
      assert.equal(decision.effect, 'deny')
      assert.equal(decision.code, 'credential_invalid')
      // The untouched chain still passes the same check.
      assert.equal(c.rt.check(c.cred.token, { action: 'crm.read', resource: 'customer/42' }).code, 'granted')
    })
  }

  test(`${alg}: a flipped character in the encoded claims is refused`, async () => {
    const c = threeLinks(alg)
    const [header, payload, signature] = c.links[1].split('.')
    const mid = payload.length >> 1
    const flipped = payload.slice(0, mid) + (payload[mid] === 'A' ? 'B' : 'A') + payload.slice(mid + 1)
    const link = [header, flipped, signature].join('.')
    const key = await jose.importJWK((await verifyLinks(c))[0].cnf.jwk, alg)
    await assert.rejects(jose.jwtVerify(link, key, { algorithms: [alg], audience: 'org:acme' }), (e) => e instanceof jose.errors.JWSSignatureVerificationFailed || e instanceof jose.errors.JWTInvalid)
    const token = [c.links[0], link, c.links[2], c.seal].join('~')
    assert.throws(() => c.rt.verify(token), (e) => e instanceof InvalidCredentialError && ['signature_invalid', 'token_malformed'].includes(e.code))
    assert.equal(c.rt.check(token, { action: 'crm.read', resource: 'customer/42' }).code, 'credential_invalid')
  })

  test(`${alg}: a prefix of the chain is refused for want of its seal`, () => {
    // Issue 16 item 3: a sub-agent drops its last link to act with its parent's grant.
    const c = threeLinks(alg)
    for (const cut of [1, 2]) {
      for (const token of [[...c.links.slice(0, cut), c.seal].join('~'), c.links.slice(0, cut).join('~')]) {
        assert.throws(() => c.rt.verify(token), (e) => {
          assert.ok(e instanceof InvalidCredentialError, e)
          assert.ok(!e.message.includes(c.seal))
          return isCode('seal_invalid')(e)
        })
        const decision = c.rt.check(token, { action: 'crm.read', resource: 'customer/42' })
        assert.equal(decision.code, 'credential_invalid')
        assert.equal(decision.allowed, false)
      }
    }
    assert.equal(c.rt.check(c.cred.token, { action: 'crm.read', resource: 'customer/42' }).code, 'granted')
  })

  test(`${alg}: a link checked against the wrong key is refused`, async () => {
    const c = threeLinks(alg)
    const claims = await verifyLinks(c)
    const authority = jose.createLocalJWKSet(c.rt.jwks())
    const [authorityJwk] = c.rt.jwks().keys
    const authorityKey = await jose.importJWK(authorityJwk, alg)
    // Links 1 and 2 are signed by agents, not by the authority (whose JWKS has no such kid).
    for (const link of c.links.slice(1)) {
      await assert.rejects(jose.jwtVerify(link, authorityKey, { algorithms: [alg] }), jose.errors.JWSSignatureVerificationFailed)
      await assert.rejects(jose.jwtVerify(link, authority, { algorithms: [alg] }), jose.errors.JWKSNoMatchingKey)
    }
    // Link 0 is not signed by the key it delegates to, nor link 2 by its grandparent's key.
    const planner = await jose.importJWK(claims[0].cnf.jwk, alg)
    await assert.rejects(jose.jwtVerify(c.links[0], planner, { algorithms: [alg] }), jose.errors.JWSSignatureVerificationFailed)
    await assert.rejects(jose.jwtVerify(c.links[2], planner, { algorithms: [alg] }), jose.errors.JWSSignatureVerificationFailed)
    // The other algorithm is refused outright.
    const other = alg === 'ES256' ? 'EdDSA' : 'ES256'
    await assert.rejects(jose.jwtVerify(c.links[0], authority, { algorithms: [other] }), jose.errors.JOSEAlgNotAllowed)
    // A runtime of another authority knows none of these keys.
    const stranger = Runtime.inMemory({ issuer: 'org:acme', alg })
    assert.throws(() => stranger.verify(c.cred.token), (e) => e instanceof InvalidCredentialError && isCode('unknown_key')(e))
    await assert.rejects(jose.jwtVerify(c.links[0], jose.createLocalJWKSet(stranger.jwks()), { algorithms: [alg] }), jose.errors.JWKSNoMatchingKey)
    const strangerKey = await jose.importJWK(stranger.jwks().keys[0], alg)
    await assert.rejects(jose.jwtVerify(c.links[0], strangerKey, { algorithms: [alg] }), jose.errors.JWSSignatureVerificationFailed)
  })

  test(`${alg}: jose enforces the audience, issuer and type the links carry`, async () => {
    const c = threeLinks(alg)
    const claims = await verifyLinks(c)
    const key = await jose.importJWK(claims[0].cnf.jwk, alg)
    const claimFailed = (claim) => (e) => e instanceof jose.errors.JWTClaimValidationFailed && e.claim === claim
    await assert.rejects(jose.jwtVerify(c.links[1], key, { algorithms: [alg], audience: 'org:other', issuer: AGENTS[0] }), claimFailed('aud'))
    await assert.rejects(jose.jwtVerify(c.links[1], key, { algorithms: [alg], audience: 'org:acme', issuer: 'org:acme' }), claimFailed('iss'))
    await assert.rejects(jose.jwtVerify(c.links[1], key, { algorithms: [alg], typ: 'JWT' }), claimFailed('typ'))
    // The JWKS is plain JSON every JOSE library reads: one public signing key of our algorithm.
    const jwks = JSON.parse(JSON.stringify(c.rt.jwks()))
    assert.deepEqual(jwks.keys.map((k) => [k.alg, k.use]), [[alg, 'sig']])
    assert.ok(jwks.keys.every((k) => !('d' in k)))
  })
}
