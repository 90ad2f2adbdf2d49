// Replays the cases another language wrote (mint.py, or decide.py --emit) on the same runtime
// folder from Node, and fails with a diff on any difference: the registry and JWKS as read from
// the folder, every token's verification, every decision (effect, reason codes and messages,
// actor, chain, on behalf of, grant, policies, approval request), the action hashes, the audit
// events the other language wrote, the approval flows (with the other language's receipt), and
// the attenuations of its tokens with agent keys from the folder.
//
//     node tests/interop/decide.mjs FOLDER CASES.json [--emit OUT.json]
//
// With --emit, the credentials attenuated here and their decisions are written to OUT.json in
// the same format, for the other language to replay in turn.
import path from 'node:path'
import * as io from './interop.mjs'

const { Runtime } = io

function main(folder, casesPath, emit) {
  const started = performance.now()
  const cases = io.loadJson(casesPath)
  if (cases.format !== io.FORMAT) throw new Error(`decide.mjs: ${casesPath} is not a ${io.FORMAT} file`)
  const theirs = cases.minted_by.language
  const cmp = new io.Comparison(theirs, 'node')
  const problems = []
  const rt = Runtime.open(folder, { issuer: cases.issuer })
  const clock = new io.Clock(rt, folder, cases.issuer)

  cmp.same('policies loaded from the folder', cases.policies_loaded, rt.loadPolicies(io.policiesDir(folder)))
  cmp.same('authority JWKS', cases.jwks, rt.jwks())
  cmp.same('agent records', cases.agents, io.agents(rt, cases.agents.map((a) => a.id)))

  const verified = {}
  for (const [name, cred] of Object.entries(cases.credentials)) {
    verified[name] = io.verify(rt, cred.token)
    cmp.same(`verify ${name}`, cred.verify, verified[name])
  }

  let auditCompared = 0
  for (const c of cases.checks) {
    const what = `check ${JSON.stringify(c.name)}`
    const token = cases.credentials[c.credential].token
    const got = io.check(clock, token, c, verified[c.credential])
    cmp.checkResult(what, c, got)
    problems.push(...io.consistency(what, got), ...io.expectation(c, got.decision))
    // The audit event the other language wrote for this call, read here, is the one we wrote.
    const event = io.auditEvent(rt, c.decision_id)
    cmp.same(`${what} (its audit event, written by ${theirs}, vs ours)`, event, io.auditEvent(rt, got.decision_id))
    if ('args_digest' in event) cmp.same(`${what} (args_digest vs the JCS definition)`, io.argsDigest(c.request.args), event.args_digest)
    auditCompared++
  }

  for (const c of cases.approvals ?? []) {
    const what = `approval ${JSON.stringify(c.name)}`
    const token = cases.credentials[c.credential].token
    const flow = io.approvalFlow(clock, token, c, verified[c.credential], c.receipt)
    problems.push(...io.flowExpectations(what, flow.results))
    for (const [step, value] of Object.entries(flow.results)) {
      // The other language's receipt behaves like its own did there.
      const expected = c.results[step.startsWith('cross_') ? step.slice('cross_'.length) : step]
      if (expected === undefined) cmp.diffs.push(`${what}: step ${step} is missing in the ${theirs} results`)
      else if ('decision' in value) {
        cmp.checkResult(`${what} / ${step}`, expected, value)
        problems.push(...io.consistency(`${what} / ${step}`, value))
      } else cmp.same(`${what} / ${step}`, expected, value)
    }
  }

  const emitted = { credentials: {}, checks: [] }
  for (const c of cases.handoffs ?? []) {
    const what = `handoff ${JSON.stringify(c.name)}`
    const parent = cases.credentials[c.parent].token
    const result = io.handoff(clock, parent, c)
    cmp.same(what, c.outcome, result.outcome)
    problems.push(...io.expectation(c, result.outcome))
    if (result.raw) {
      const name = `handoff by ${cmp.ours}: ${c.name}`
      emitted.credentials[name] = { token: result.raw.token, verify: result.raw.verify }
      for (const [i, request] of (c.checks ?? []).entries()) {
        const r = result.raw.checks[i]
        problems.push(...io.consistency(`${what} / ${request.action}`, r))
        emitted.checks.push({ name: `${name} / ${request.action} ${request.args ? JSON.stringify(request.args) : ''}`, credential: name, request, ...r })
      }
    }
  }

  const report = rt.audit.verify()
  if (!report.ok) problems.push(`the shared audit log does not verify: ${JSON.stringify(report)}`)
  if (emit) {
    io.writeJson(emit, {
      format: io.FORMAT,
      minted_by: io.versionInfo(),
      issuer: cases.issuer,
      policies_loaded: rt.loadPolicies(io.policiesDir(folder)),
      jwks: rt.jwks(),
      agents: io.agents(rt, cases.agents.map((a) => a.id)),
      ...emitted,
    })
  }
  clock.close()
  rt.close()

  const label = `decide.mjs (${theirs} -> node, ${path.basename(casesPath)})`
  for (const n of cmp.notes) console.log(`${label}: NOTE: ${n}`)
  for (const d of cmp.diffs) console.log(`${label}: MISMATCH ${d}`)
  for (const p of problems) console.log(`${label}: PROBLEM ${p}`)
  const failed = cmp.diffs.length + problems.length > 0
  const status = failed ? `FAILED (${cmp.diffs.length} mismatches, ${problems.length} problems)` : 'OK'
  console.log(
    `${label}: ${status}: ${Object.keys(cases.credentials).length} tokens verified, ${cases.checks.length} checks, ` +
      `${(cases.approvals ?? []).length} approval flows, ${(cases.handoffs ?? []).length} handoffs, ${auditCompared} audit events, ` +
      `${cmp.compared} comparisons; audit log ${report.events} events intact=${report.ok} (${((performance.now() - started) / 1000).toFixed(2)} s)`,
  )
  return failed ? 1 : 0
}

const args = process.argv.slice(2)
let emit = null
const i = args.indexOf('--emit')
if (i >= 0) {
  emit = path.resolve(args[i + 1])
  args.splice(i, 2)
}
if (args.length !== 2) {
  console.error('usage: node tests/interop/decide.mjs FOLDER CASES.json [--emit OUT.json]')
  process.exit(2)
}
process.exitCode = main(path.resolve(args[0]), path.resolve(args[1]), emit)
