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
    const scopes = scenario.rules
      .filter((r) => r.effect === 'allow' && (r.agent === '*' || r.agent === name))
      .map((r) => ({ actions: [r.action], resources: [`${r.prefix}*`], ...(CONSTRAINTS[r.cond] ? { constraints: CONSTRAINTS[r.cond] } : {}) }))
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

module.exports = { loadScenario, build, decide, bareCall, rawCheck, guardedCall }
