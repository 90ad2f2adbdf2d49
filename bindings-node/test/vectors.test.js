'use strict'
// The conformance vectors of tests/vectors run through the Node API, step by step, as the
// Rust and Python suites run them (see tests/vectors/README.md).
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Runtime, Credential, Receipt, RuntimeIdentityError, verifyAuditLog } = require('..')

const VECTORS = path.join(__dirname, '..', '..', 'tests', 'vectors')
const FILES = fs.readdirSync(VECTORS).filter((f) => f.endsWith('.json') && f !== 'schema.json').sort()

/** `{ firstBadSeq }` → `{ first_bad_seq }` (a Node report next to the vectors' names). */
function snakeKeys(o) {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]))
}

function subset(got, expect, what) {
  for (const [key, want] of Object.entries(expect || {})) {
    assert.ok(got !== null && typeof got === 'object' && key in got, `${what} has no field ${key}: ${JSON.stringify(got)}`)
    assert.deepStrictEqual(got[key], want, `${what} field ${key}: ${JSON.stringify(got)}`)
  }
}

class Run {
  constructor(setup) {
    this.setup = setup
    this.saved = new Map()
    this.rt = this.open(setup.issuer)
    this.rt.importAuthorityKey(setup.authority_key)
    for (const a of setup.agents) {
      this.rt.registerAgent(a.id, {
        owner: a.owner,
        attributes: a.attributes,
        maxDelegationDepth: a.max_delegation_depth,
        publicKey: a.public_key,
      })
    }
    if (setup.policies) this.rt.loadPolicies(setup.policies)
    for (const r of setup.resources) this.rt.upsertResource(r.id, { dataClass: r.data_class, attributes: r.attributes })
    this.tmp = null
  }

  open(issuer) {
    const o = this.setup.options
    return Runtime.inMemory({
      issuer,
      alg: this.setup.alg,
      fixedTime: this.setup.now,
      requirePermit: o.require_permit || false,
      requireProof: o.require_proof || false,
    })
  }

  value(v) {
    if (typeof v !== 'string' || !v.startsWith('$')) return v
    assert.ok(this.saved.has(v.slice(1)), `nothing saved as ${v}`)
    return this.saved.get(v.slice(1))
  }

  secretKey(agent) {
    return JSON.stringify(this.setup.agents.find((a) => a.id === agent).secret_key)
  }

  /** Runs `call`; `expect` is `{error: code}` or fields the result must have. */
  outcome(call, expect, save) {
    const code = expect && expect.error
    let got
    try {
      got = call()
    } catch (e) {
      if (!(e instanceof RuntimeIdentityError)) throw e
      assert.ok(code, `expected success, got ${e.code}: ${e.message}`)
      assert.equal(e.code, code, e.message)
      return
    }
    assert.ok(!code, `expected error ${code}, got success`)
    if (got instanceof Credential || got instanceof Receipt) {
      if (save) this.saved.set(save, got.token)
      got = got instanceof Credential ? { chain: got.agents, on_behalf_of: got.onBehalfOf } : {}
    }
    subset(got, expect, 'result')
  }

  step(step) {
    const { op, expect } = step
    const rt = this.rt
    switch (op) {
      case 'set_time':
        return rt.setTime(step.now)
      case 'check':
        return this.check(step)
      case 'verify':
        return this.outcome(() => rt.verify(this.value(step.token)), expect)
      case 'delegate':
        return this.outcome(
          () => rt.delegate({
            to: step.to, onBehalfOf: step.on_behalf_of, scopes: step.scopes,
            ttl: step.ttl, purpose: step.purpose, maxDepth: step.max_depth,
          }),
          expect, step.save,
        )
      case 'attenuate':
        return this.outcome(
          () => rt.attenuate(this.value(step.parent), {
            to: step.to, scopes: step.scopes, ttl: step.ttl, purpose: step.purpose,
            maxDepth: step.max_depth, key: this.secretKey(step.key),
          }),
          expect, step.save,
        )
      case 'revoke': {
        const grant = 'token' in step ? rt.verify(this.value(step.token)).grantId : step.grant_id
        return this.outcome(() => (rt.revoke(grant), {}), expect)
      }
      case 'suspend_agent':
        return this.outcome(() => rt.suspendAgent(step.id), expect)
      case 'resume_agent':
        return this.outcome(() => rt.resumeAgent(step.id), expect)
      case 'revoke_agent':
        return this.outcome(() => rt.revokeAgent(step.id), expect)
      case 'register_agent':
        return this.outcome(() => rt.registerAgent(step.id, { owner: step.owner }), expect)
      case 'load_policies':
        return this.outcome(() => ({ count: rt.loadPolicies(step.text) }), expect)
      case 'upsert_resource':
        return this.outcome(() => rt.upsertResource(step.id, { dataClass: step.data_class, attributes: step.attributes }), expect)
      case 'approve':
        return this.outcome(() => rt.approve(this.value(step.request), step.approver, step.attributes), expect, step.save)
      case 'deny_approval':
        return this.outcome(() => rt.denyApproval(this.value(step.request), step.approver, step.attributes), expect)
      case 'record_outcome':
        return this.outcome(
          () => (rt.recordOutcome(this.value(step.decision), { ok: step.ok, error: step.ok ? undefined : 'Error' }), {}),
          expect,
        )
      case 'import_authority_key':
        return this.outcome(() => rt.importAuthorityKey(step.key), expect)
      case 'open':
        return this.outcome(() => (this.open(step.issuer), {}), expect)
      case 'verify_audit_log': {
        this.tmp = this.tmp || fs.mkdtempSync(path.join(os.tmpdir(), 'rid-vectors-'))
        const log = path.join(this.tmp, 'audit.jsonl')
        const end = step.log_ends_with_newline === false ? '' : '\n'
        fs.writeFileSync(log, step.log.join('\n') + end)
        // The report's fields are camelCase in Node; the vectors spell the core's names.
        return this.outcome(() => snakeKeys(verifyAuditLog(log, { issuer: step.issuer, jwks: step.jwks, anchor: step.anchor })), expect)
      }
      default:
        throw new Error(`unknown op ${op}`)
    }
  }

  check(step) {
    const r = step.request
    const d = this.rt.check(this.value(step.token), {
      action: r.action,
      resource: r.resource,
      args: r.args,
      context: r.context,
      approval: step.approval === undefined ? undefined : this.value(step.approval),
      proof: step.proof,
    })
    const got = d.toJSON()
    got.reasons = d.reasons.map((x) => x.code)
    subset(got, step.expect, 'decision')
    if (step.save_decision) this.saved.set(step.save_decision, d.decisionId)
    if (step.save_approval) {
      assert.ok(d.approvalRequest, 'an approval request')
      this.saved.set(step.save_approval, d.approvalRequest.id)
    }
  }

  cleanup() {
    if (this.tmp) fs.rmSync(this.tmp, { recursive: true, force: true })
  }
}

test('the vector files are there', () => {
  assert.ok(FILES.length >= 10, `vector files in ${VECTORS}`)
  const total = FILES.reduce((n, f) => n + JSON.parse(fs.readFileSync(path.join(VECTORS, f), 'utf8')).cases.length, 0)
  assert.ok(total >= 150, `${total} cases`)
})

for (const file of FILES) {
  const doc = JSON.parse(fs.readFileSync(path.join(VECTORS, file), 'utf8'))
  test(`vectors: ${doc.group}`, async (t) => {
    for (const c of doc.cases) {
      await t.test(`${c.id} ${c.title}`, () => {
        const run = new Run({ ...doc.setup, ...(c.setup || {}) })
        try {
          c.steps.forEach((step, i) => {
            try {
              run.step(step)
            } catch (e) {
              e.message = `step ${i} (${step.op}): ${e.message}`
              throw e
            }
          })
        } finally {
          run.cleanup()
        }
      })
    }
  })
}
