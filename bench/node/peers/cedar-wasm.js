'use strict'
// @cedar-policy/cedar-wasm: the 20 rules pre-parsed once (`preparsePolicySet`), each decision
// through `statefulIsAuthorized` with the request's entity slice: principal + resource + org
// (PEERS.md's fastest cedar-wasm path; cedar-wasm cannot pre-parse entities, and passing all 24
// every call costs ~4x more).
//
// The policies are the shared `cedar.cedar` as given to every peer. The entities are built from
// the scenario: `Org::"acme"`, 9 `User`s, 10 `Agent`s (parent their org; `attrs` a set of
// strings; `owner` a `User`; support-bot's `delegation` a record `{delegator: User, expires_at:
// Long}`) and 4 `Resource`s (`path`, `data_class`). The context carries `now` (the request's,
// else the scenario's) and the request's own context (`amount`, `currency`).
const fs = require('node:fs')
const path = require('node:path')
const cedar = require('@cedar-policy/cedar-wasm/nodejs')
const { CEDAR_POLICIES, requestNow } = require('./harness')

/**
 * @typedef {import('./harness').Scenario} Scenario
 * @typedef {import('./harness').Request} Request
 * @typedef {import('@cedar-policy/cedar-wasm/nodejs').EntityJson} EntityJson
 * @typedef {import('@cedar-policy/cedar-wasm/nodejs').StatefulAuthorizationCall} StatefulAuthorizationCall
 * @typedef {{ policySetId: string, entities: Map<string, EntityJson>, scenario: Scenario }} CedarState
 */

/** The id the pre-parsed policy set is cached under (in cedar-wasm's thread-local store). */
const POLICY_SET_ID = 'bench-20-rules'

/** @param {string} type @param {string} id */
const ref = (type, id) => ({ type, id })
/** @param {string} type @param {string} id */
const key = (type, id) => `${type}::${id}`

/**
 * The scenario's org, users, agents and resources as Cedar JSON entities, keyed `Type::id`.
 * @param {Scenario} scenario
 * @returns {Map<string, EntityJson>}
 */
function entities(scenario) {
  /** @type {Map<string, EntityJson>} */
  const out = new Map()
  const orgs = new Set(Object.values(scenario.agents).map((a) => a.org))
  for (const org of orgs) out.set(key('Org', org), { uid: ref('Org', org), attrs: {}, parents: [] })
  for (const u of scenario.users) out.set(key('User', u), { uid: ref('User', u), attrs: {}, parents: [] })
  for (const [name, a] of Object.entries(scenario.agents)) {
    /** @type {EntityJson['attrs']} */
    const attrs = { attrs: [...a.attrs], owner: { __entity: ref('User', a.owner) } }
    if (a.delegation) attrs.delegation = { delegator: { __entity: ref('User', a.delegation.delegator) }, expires_at: a.delegation.expires_at }
    out.set(key('Agent', name), { uid: ref('Agent', name), attrs, parents: [ref('Org', a.org)] })
  }
  for (const [p, r] of Object.entries(scenario.resources)) {
    out.set(key('Resource', p), { uid: ref('Resource', p), attrs: { path: p, ...r }, parents: [] })
  }
  return out
}

/**
 * @param {Scenario} scenario
 * @returns {CedarState}
 */
function prepare(scenario) {
  const parsed = cedar.preparsePolicySet(POLICY_SET_ID, { staticPolicies: fs.readFileSync(CEDAR_POLICIES, 'utf8') })
  if (parsed.type !== 'success') throw new Error(`cedar policies: ${JSON.stringify(parsed.errors)}`)
  return { policySetId: POLICY_SET_ID, entities: entities(scenario), scenario }
}

/**
 * The request in cedar-wasm's input form, with its entity slice: the principal, the resource and
 * the principal's org (the ancestor `principal in Org::"acme"` needs). Entities not in the
 * scenario are simply absent, as Cedar allows.
 * @param {CedarState} state
 * @param {Request} req
 * @returns {StatefulAuthorizationCall}
 */
function cedarCall(state, req) {
  const agent = state.scenario.agents[req.agent]
  const slice = [key('Agent', req.agent), key('Resource', req.resource), ...(agent ? [key('Org', agent.org)] : [])]
    .map((k) => state.entities.get(k))
    .filter((e) => e !== undefined)
  return {
    principal: ref('Agent', req.agent),
    action: ref('Action', req.action),
    resource: ref('Resource', req.resource),
    context: { now: requestNow(state.scenario, req), ...req.context },
    preparsedPolicySetId: state.policySetId,
    entities: /** @type {EntityJson[]} */ (slice),
  }
}

/** @type {import('./harness').Path<CedarState>} */
const PATH = {
  name: 'statefulIsAuthorized(preparsed; per-request entity slice: principal + resource + org)',
  library: '@cedar-policy/cedar-wasm',
  prepare,
  decide(state, req) {
    const answer = cedar.statefulIsAuthorized(cedarCall(state, req))
    if (answer.type !== 'success') throw new Error(`cedar ${req.id}: ${JSON.stringify(answer.errors)}`)
    const errors = answer.response.diagnostics.errors
    if (errors.length) throw new Error(`cedar evaluation errors on ${req.id}: ${JSON.stringify(errors)}`)
    return answer.response.decision === 'allow'
  },
  call(state, req) {
    const call = cedarCall(state, req)
    const isAuthorized = cedar.statefulIsAuthorized
    return () => {
      const answer = isAuthorized(call)
      return answer.type === 'success' && answer.response.decision === 'allow'
    }
  },
  packages: ['@cedar-policy/cedar-wasm'],
  note: `policies: ${path.basename(CEDAR_POLICIES)} (20, pre-parsed); 3 entities passed per call; context {now, amount?, currency?}`,
}

/** The Cedar engine version embedded in the wasm. */
const engineVersion = () => cedar.getCedarVersion()

module.exports = { PATH, entities, engineVersion }
