// Plays tests/interop/plan.json into a runtime folder from Node and writes the cases with the
// results Node got, for decide.py (or decide.mjs) to replay in the other language.
//
//     node tests/interop/mint.mjs FOLDER CASES.json
import fs from 'node:fs'
import path from 'node:path'
import * as io from './interop.mjs'

const { Runtime } = io

function main(folder, out) {
  const started = performance.now()
  const plan = io.loadJson(path.join(io.HERE, 'plan.json'))
  const issuer = plan.issuer
  // The policies live in the folder, so that every runtime opening it loads them.
  fs.mkdirSync(io.policiesDir(folder), { recursive: true, mode: 0o700 })
  fs.chmodSync(folder, 0o700)
  for (const rel of plan.policies) fs.copyFileSync(path.join(io.REPO, rel), path.join(io.policiesDir(folder), path.basename(rel)))
  const rt = Runtime.open(folder, { issuer, alg: 'ES256' })
  const clock = new io.Clock(rt, folder, issuer)
  const problems = []

  for (const a of plan.agents) {
    rt.registerAgent(a.id, {
      owner: a.owner, attributes: a.attributes, maxDelegationDepth: a.max_delegation_depth, org: a.org, name: a.name, description: a.description, alg: a.alg,
    })
  }
  for (const r of plan.resources) rt.upsertResource(r.id, { dataClass: r.data_class, attributes: r.attributes })

  const tokens = {}
  for (const step of plan.steps) {
    if ('delegate' in step) {
      tokens[step.delegate] = rt.delegate({
        to: step.to, onBehalfOf: step.on_behalf_of, scopes: step.scopes, ttl: step.ttl, purpose: step.purpose, maxDepth: step.max_depth,
      }).token
    } else if ('attenuate' in step) {
      // From the token, as an agent receives it; the parent agent's key is in the folder.
      tokens[step.attenuate] = rt.attenuate(tokens[step.parent], { to: step.to, scopes: step.scopes, ttl: step.ttl, purpose: step.purpose }).token
    } else if ('rotate_authority_key' in step) {
      rt.rotateAuthorityKey(step.rotate_authority_key)
    } else if ('use' in step) {
      const token = tokens[step.use]
      const result = io.check(clock, token, { request: step.request, at: step.at }, io.verify(rt, token))
      if (!result.decision.allowed) problems.push(`use of ${step.use} was not allowed: ${JSON.stringify(result.decision.reasons)}`)
    } else if ('revoke' in step) {
      rt.revoke(rt.verify(tokens[step.revoke]).grantId)
    } else if ('suspend_agent' in step) {
      rt.suspendAgent(step.suspend_agent)
    } else if ('revoke_agent' in step) {
      rt.revokeAgent(step.revoke_agent)
    } else if ('tamper' in step) {
      tokens[step.tamper] = io.tamper(tokens[step.from], step.link, step.how)
    } else {
      throw new Error(`unknown step ${JSON.stringify(step)}`)
    }
  }

  const credentials = Object.fromEntries(Object.entries(tokens).map(([name, token]) => [name, { token, verify: io.verify(rt, token) }]))
  const checks = plan.checks.map((c) => {
    const result = io.check(clock, tokens[c.credential], c, credentials[c.credential].verify)
    problems.push(...io.consistency(c.name, result), ...io.expectation(c, result.decision))
    return { ...c, ...result }
  })
  const approvals = plan.approvals.map((c) => {
    const flow = io.approvalFlow(clock, tokens[c.credential], c, credentials[c.credential].verify, null)
    for (const [name, r] of Object.entries(flow.results)) {
      if (r !== null && typeof r === 'object' && 'decision' in r) problems.push(...io.consistency(`${c.name} / ${name}`, r))
    }
    problems.push(...io.flowExpectations(c.name, flow.results))
    return { ...c, ...flow }
  })
  const handoffs = plan.handoffs.map((c) => {
    const { outcome } = io.handoff(clock, tokens[c.parent], c)
    problems.push(...io.expectation(c, outcome))
    return { ...c, outcome }
  })

  const cases = {
    format: io.FORMAT,
    minted_by: io.versionInfo(),
    issuer,
    policies_loaded: rt.loadPolicies(io.policiesDir(folder)),
    jwks: rt.jwks(),
    agents: io.agents(rt, plan.agents.map((a) => a.id)),
    credentials,
    checks,
    approvals,
    handoffs,
  }
  const audit = rt.audit.verify()
  if (!audit.ok) problems.push(`audit log does not verify: ${JSON.stringify(audit)}`)
  clock.close()
  rt.close()
  io.writeJson(out, cases)
  for (const p of problems) console.log(`mint.mjs: PROBLEM: ${p}`)
  console.log(
    `mint.mjs: ${Object.keys(credentials).length} credentials, ${checks.length} checks, ${approvals.length} approval flows, ` +
      `${handoffs.length} handoffs -> ${out} (${((performance.now() - started) / 1000).toFixed(2)} s)`,
  )
  return problems.length ? 1 : 0
}

const args = process.argv.slice(2)
if (args.length !== 2) {
  console.error('usage: node tests/interop/mint.mjs FOLDER CASES.json')
  process.exit(2)
}
process.exitCode = main(path.resolve(args[0]), path.resolve(args[1]))
