'use strict'
// node-casbin: `enforceSync`, one matcher calling a registered host function for each rule's
// condition (PEERS.md's fastest node-casbin path, "matcher + custom function checkCond(p.cond, ...)").
//
// Request `r = sub, obj, act, ctx` (agent, resource path, action, context object with `now`);
// policy `p = sub, obj, act, cond, eft`: the scenario's 20 rules as rows, `*` for any agent or
// action, `keyMatch` patterns `prefix*`; deny-override effect. `checkCond(p.cond, r.sub, r.obj,
// r.ctx)` looks the condition up by name and evaluates it on the agent and resource directories
// built from the scenario (attributes, org, delegation, data class).
const { newEnforcer, newModelFromString } = require('casbin')
const { requestNow } = require('./harness')

const MODEL = `
[request_definition]
r = sub, obj, act, ctx

[policy_definition]
p = sub, obj, act, cond, eft

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = (p.sub == "*" || r.sub == p.sub) && (p.act == "*" || r.act == p.act) && keyMatch(r.obj, p.obj) && checkCond(p.cond, r.sub, r.obj, r.ctx)
`

/**
 * @typedef {import('./harness').Scenario} Scenario
 * @typedef {import('./harness').Request} Request
 * @typedef {import('./harness').Agent} Agent
 * @typedef {{ now: number, amount?: number, currency?: string }} Ctx
 * @typedef {{ data_class?: string }} Resource
 * @typedef {(agent: Agent, res: Resource, ctx: Ctx) => boolean} Condition
 * @typedef {{ enforcer: import('casbin').Enforcer, scenario: Scenario }} CasbinState
 */

/** @param {Ctx} ctx @param {number} limit */
const amountAtMost = (ctx, limit) => Number.isInteger(ctx.amount) && /** @type {number} */ (ctx.amount) <= limit
/** @param {Agent} agent @param {Ctx} ctx */
const delegatedByAlice = (agent, ctx) => !!agent.delegation && agent.delegation.delegator === 'alice' && ctx.now < agent.delegation.expires_at

/**
 * The scenario's named conditions (`rules[].cond`), as the rule texts state them (`''`: none).
 * @type {Record<string, Condition>}
 */
const CONDITIONS = {
  '': () => true,
  pci_uncleared: (agent, res) => res.data_class === 'pci' && !agent.attrs.includes('pci_cleared'),
  deleg_alice: (agent, _res, ctx) => delegatedByAlice(agent, ctx),
  deleg_alice_refund: (agent, _res, ctx) => delegatedByAlice(agent, ctx) && amountAtMost(ctx, 100) && ctx.currency === 'USD',
  amount_le_10000: (_agent, _res, ctx) => amountAtMost(ctx, 10000),
  refund_le_1000_usd: (_agent, _res, ctx) => amountAtMost(ctx, 1000) && ctx.currency === 'USD',
  org_acme: (agent) => agent.org === 'acme',
}

/**
 * `checkCond(cond, agent, resource, ctx)` over the scenario's directories: an unknown agent or
 * resource has no attributes; an unknown condition is an error.
 * @param {Scenario} scenario
 * @returns {(cond: string, sub: string, obj: string, ctx: Ctx) => boolean}
 */
function checkCondFunction(scenario) {
  /** @type {Agent} */
  const nobody = { owner: '', org: '', attrs: [] }
  const agents = new Map(Object.entries(scenario.agents))
  const resources = new Map(Object.entries(scenario.resources))
  return (cond, sub, obj, ctx) => {
    const c = CONDITIONS[cond]
    if (c === undefined) throw new Error(`unknown condition ${cond}`)
    return c(agents.get(sub) || nobody, resources.get(obj) || {}, ctx)
  }
}

/**
 * @param {Scenario} scenario
 * @returns {Promise<CasbinState>}
 */
async function prepare(scenario) {
  const enforcer = await newEnforcer(newModelFromString(MODEL))
  await enforcer.addFunction('checkCond', checkCondFunction(scenario))
  for (const rule of scenario.rules) {
    if (!Object.hasOwn(CONDITIONS, rule.cond)) throw new Error(`rule ${rule.id}: unknown condition ${rule.cond}`)
    await enforcer.addPolicy(rule.agent, `${rule.prefix}*`, rule.action, rule.cond, rule.effect)
  }
  if ((await enforcer.getPolicy()).length !== scenario.rules.length) throw new Error('casbin dropped a policy row')
  return { enforcer, scenario }
}

/**
 * The request in casbin's input form.
 * @param {CasbinState} state
 * @param {Request} req
 * @returns {[string, string, string, Ctx]}
 */
function args(state, req) {
  return [req.agent, req.resource, req.action, { now: requestNow(state.scenario, req), ...req.context }]
}

/** @type {import('./harness').Path<CasbinState>} */
const PATH = {
  name: 'enforceSync, matcher + custom function checkCond(p.cond,...)',
  library: 'node-casbin',
  prepare,
  decide: (state, req) => state.enforcer.enforceSync(...args(state, req)),
  call(state, req) {
    const [sub, obj, act, ctx] = args(state, req)
    const enforcer = state.enforcer
    return () => enforcer.enforceSync(sub, obj, act, ctx)
  },
  packages: ['casbin'],
  note: '20 policy rows, deny-override effect, keyMatch on prefix*, conditions in a registered host function',
}

module.exports = { PATH, MODEL, CONDITIONS }
