'use strict'
// jose: `await jwtVerify` (EdDSA / Ed25519) of a pre-minted JWT, alone: a lower bound for
// "verify a signed credential", not an authorization engine, so the path is `verifyOnly`.
//
// Each agent gets one JWT minted in `prepare` with the scopes of the rules naming it (`sub`,
// `iss`, `iat` = the scenario's `now`, `exp` = the delegation's expiry or 30 days, `act` for a
// delegation, `scope`). The timed call verifies the signature and checks `iss`, `exp` and `iat`
// against the request's fixed clock (jose's `currentDate`).
//
// `decide` is the token's validity plus a trivial claim check (`sub` is the request's agent and
// a scope names the action with a matching resource prefix). That cannot honestly model the
// scenario: the pci forbid (F01) needs the resource's data class and the agent's clearance, and
// the amount/currency limits need decision logic a JWT does not have. Its answers are
// reported, not required to match.
const { SignJWT, generateKeyPair, jwtVerify } = require('jose')
const { requestNow } = require('./harness')

const ISSUER = 'org:acme'
const ALG = 'EdDSA'

/**
 * @typedef {import('./harness').Scenario} Scenario
 * @typedef {import('./harness').Request} Request
 * @typedef {{ action: string, resource: string, cond?: string }} Scope
 * @typedef {{ key: CryptoKey, tokens: Map<string, string>, scenario: Scenario }} JoseState
 */

/**
 * The agent's token claims: the allow rules naming it (or any agent) as scopes.
 * @param {Scenario} scenario
 * @param {string} agent
 */
function claims(scenario, agent) {
  const d = scenario.agents[agent].delegation
  /** @type {Scope[]} */
  const scope = scenario.rules
    .filter((r) => r.effect === 'allow' && (r.agent === agent || r.agent === '*'))
    .map((r) => ({ action: r.action, resource: `${r.prefix}*`, ...(r.cond ? { cond: r.cond } : {}) }))
  return {
    exp: d ? d.expires_at : scenario.now + 30 * 86400,
    payload: { scope, ...(d ? { act: { sub: d.delegator } } : {}) },
  }
}

/**
 * @param {Scenario} scenario
 * @returns {Promise<JoseState>}
 */
async function prepare(scenario) {
  const { privateKey, publicKey } = await generateKeyPair(ALG, { crv: 'Ed25519' })
  /** @type {Map<string, string>} */
  const tokens = new Map()
  for (const name of Object.keys(scenario.agents)) {
    const { exp, payload } = claims(scenario, name)
    const jwt = await new SignJWT(payload)
      .setProtectedHeader({ alg: ALG })
      .setIssuer(ISSUER)
      .setSubject(name)
      .setIssuedAt(scenario.now)
      .setExpirationTime(exp)
      .sign(privateKey)
    tokens.set(name, jwt)
  }
  return { key: /** @type {CryptoKey} */ (publicKey), tokens, scenario }
}

/**
 * jwtVerify's options for one request: the accepted algorithm, issuer and the fixed clock.
 * @param {JoseState} state
 * @param {Request} req
 */
function options(state, req) {
  return { algorithms: [ALG], issuer: ISSUER, currentDate: new Date(requestNow(state.scenario, req) * 1000) }
}

/** @type {import('./harness').Path<JoseState>} */
const PATH = {
  name: 'await jwtVerify(EdDSA, iss/exp/iat checked) alone (no decision)',
  library: 'jose',
  prepare,
  async decide(state, req) {
    const token = state.tokens.get(req.agent)
    if (!token) return false
    let payload
    try {
      ;({ payload } = await jwtVerify(token, state.key, options(state, req)))
    } catch {
      return false
    }
    const scopes = /** @type {Scope[]} */ (payload.scope || [])
    return payload.sub === req.agent && scopes.some((s) => s.action === req.action && req.resource.startsWith(s.resource.replace(/\*$/, '')))
  },
  call(state, req) {
    const token = /** @type {string} */ (state.tokens.get(req.agent))
    const key = state.key
    const opts = options(state, req)
    return () => jwtVerify(token, key, opts)
  },
  verifyOnly: true,
  packages: ['jose'],
  note: "jwtVerify of the agent's pre-minted token (Ed25519 signature + iss/exp/iat against the fixed clock); no authorization decision",
}

module.exports = { PATH }
