'use strict'
// runtime-identity on the shared scenario, from Node: the scenario mapped into one runtime
// (as bench/python/ours.py does) and the timed paths: the bare function, guarded calls with
// buffered and sync audit, and the raw check.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Runtime, guard, actingAs, DeniedError } = require('../../bindings-node')

const SCENARIO = path.join(__dirname, '..', 'scenario.json')
const F01 = `@id("F01")
forbid (principal, action, resource)
when { resource has data_class && resource.data_class == "pci" }
unless { principal has pci_cleared && principal.pci_cleared };`
const CONSTRAINTS = {
  '': null,
  org_acme: null,
  deleg_alice: null,
  deleg_alice_refund: { amount: { max: 100 }, currency: { eq: 'USD' } },
  amount_le_10000: { amount: { max: 10000 } },
  refund_le_1000_usd: { amount: { max: 1000 }, currency: { eq: 'USD' } },
}
// Verification allows 30 s of clock skew, as JOSE libraries do (see ours.py).
const LEEWAY = 30

function loadScenario() {
  return JSON.parse(fs.readFileSync(SCENARIO, 'utf8'))
}

/** The scope objects of the rules naming agent `name` (or any agent). */
function scopesFor(scenario, name) {
  return scenario.rules
    .filter((r) => r.effect === 'allow' && (r.agent === '*' || r.agent === name))
    .map((r) => ({ actions: [r.action], resources: [`${r.prefix}*`], ...(CONSTRAINTS[r.cond] ? { constraints: CONSTRAINTS[r.cond] } : {}) }))
}

function build(scenario, { durability = 'buffered', inMemory = false } = {}) {
  const now = scenario.now
  const opts = { issuer: 'org:acme', durability, maxTtl: '60d', fixedTime: now }
  const rt = inMemory ? Runtime.inMemory(opts) : Runtime.open(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rid-bench-')), 'rt'), opts)
  for (const [name, a] of Object.entries(scenario.agents)) {
    rt.registerAgent(`agent:acme/${name}`, { owner: `user:${a.owner}@acme`, org: a.org, attributes: Object.fromEntries((a.attrs || []).map((k) => [k, true])) })
  }
  for (const [id, r] of Object.entries(scenario.resources)) rt.upsertResource(id, { dataClass: r.data_class })
  rt.loadPolicies(F01)
  const creds = {}
  for (const [name, a] of Object.entries(scenario.agents)) {
    const scopes = scopesFor(scenario, name)
    const d = a.delegation
    creds[name] = rt.delegate({
      to: `agent:acme/${name}`,
      onBehalfOf: `user:${d ? d.delegator : a.owner}@acme`,
      scopes,
      ttl: d ? d.expires_at - now : 30 * 86400,
    })
  }
  return { rt, creds, scenario }
}

function decide(o, req) {
  if (req.now !== undefined) o.rt.setTime(req.now + LEEWAY)
  try {
    return o.rt.check(o.creds[req.agent], { action: req.action, resource: req.resource, args: req.context }).allowed
  } finally {
    if (req.now !== undefined) o.rt.setTime(o.scenario.now)
  }
}

const tool = ({ resource }) => resource

function bareCall(req) {
  const input = { resource: req.resource, ...req.context }
  return () => tool(input)
}

function rawCheck(o, req) {
  const cred = o.creds[req.agent]
  const request = { action: req.action, resource: req.resource, args: req.context }
  return () => o.rt.check(cred, request)
}

function guardedCall(o, req) {
  const guarded = guard(req.action, tool, { resource: '{resource}', args: ({ resource, ...args }) => args })
  const cred = o.creds[req.agent]
  const input = { resource: req.resource, ...req.context }
  const call = () => {
    try {
      return guarded(input)
    } catch (e) {
      if (!(e instanceof DeniedError)) throw e
      return null
    }
  }
  return () => actingAs(cred, call)
}

// The same runtime with `agent`'s credential replaced by a `links`-link chain: the original
// 1-link credential attenuated, with the same scopes, to sub-bot and then leaf-bot (registered
// here, owned by the same user, no attributes).
function deepen(o, links, agent = 'support-bot') {
  let cred = o.creds[agent]
  const owner = `user:${o.scenario.agents[agent].owner}@acme`
  const scopes = scopesFor(o.scenario, agent)
  for (let depth = 1; depth < links; depth++) {
    const to = `agent:acme/${['sub-bot', 'leaf-bot'][depth - 1]}`
    o.rt.registerAgent(to, { owner, org: 'acme' })
    cred = o.rt.attenuate(cred, { to, scopes })
  }
  if (cred.chain.length !== links) throw new Error(`expected a ${links}-link chain, got ${cred.chain.length} links`)
  return { ...o, creds: { ...o.creds, [agent]: cred } }
}

module.exports = { loadScenario, build, decide, bareCall, rawCheck, guardedCall, deepen }
