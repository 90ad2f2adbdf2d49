'use strict'
// The whole API over the core: lifecycle, delegation, the scenario's requests, approvals,
// attenuation, revocation and suspension, typed errors, and code lists.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const ri = require('..')
const { scenario, ALICE, BOT, HELPER } = require('./scenario')

test('code lists match the core, and every error code has its class', () => {
  const binding = require('../binding.js')
  assert.deepEqual([...ri.ERROR_CODES], binding.errorCodes())
  assert.deepEqual([...ri.REASON_CODES], binding.reasonCodes())
  assert.deepEqual([...ri.EVENT_TYPES], binding.eventTypes())
  // The TypeScript unions list the same codes.
  const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')
  const union = (name) => [...dts.match(new RegExp(`export type ${name} =([^;]*?)\\n\\n`, 's'))[1].matchAll(/'([a-z_]+)'/g)].map((m) => m[1])
  assert.deepEqual(union('ErrorCode'), binding.errorCodes())
  assert.deepEqual(union('ReasonCode'), binding.reasonCodes())
  // The core names a class for every code, each name is a class of this package, none unused.
  const errors = require('../lib/errors')
  const classes = binding.errorClasses()
  assert.deepEqual(Object.keys(classes).sort(), [...binding.errorCodes()].sort())
  assert.deepEqual([...new Set(Object.values(classes))].sort(), Object.keys(errors.CLASSES).sort())
  for (const code of binding.errorCodes()) {
    const e = errors.fromNative(Object.assign(new Error('m'), { code }))
    assert.ok(e instanceof ri.RuntimeIdentityError, code)
    assert.equal(e.code, code)
    assert.equal(e.detail, 'm')
    if (code !== 'internal_error') assert.ok(!(e instanceof ri.InternalError), code)
  }
})

test('a core error reaches JavaScript with its code natively, not in its message', () => {
  const rt = ri.Runtime.inMemory({ issuer: 'org:acme' })
  assert.throws(
    () => rt.getAgent('agent:acme/nobody'),
    (e) => {
      assert.ok(e instanceof ri.AgentError)
      assert.equal(e.code, 'agent_unknown')
      // The addon's own error (the cause) carries the code as a property, the message alone.
      assert.equal(e.cause.code, 'agent_unknown')
      assert.equal(e.cause.message, e.detail)
      assert.doesNotMatch(e.cause.message, /agent_unknown/)
      return true
    },
  )
})

test('agent lifecycle', () => {
  const rt = ri.Runtime.inMemory({ issuer: 'org:acme' })
  const rec = rt.registerAgent(BOT, { owner: ALICE, attributes: { team: 'support' }, maxDelegationDepth: 3, name: 'Support' })
  assert.equal(rec.status, 'active')
  assert.equal(rec.max_delegation_depth, 3)
  assert.deepEqual(rt.listAgents({ owner: ALICE }).map((a) => a.id), [BOT])
  assert.equal(rt.suspendAgent(BOT).status, 'suspended')
  assert.deepEqual(rt.listAgents({ status: 'suspended' }).map((a) => a.id), [BOT])
  assert.equal(rt.resumeAgent(BOT).status, 'active')
  const old = rt.getAgent(BOT).keys.at(-1).kid
  assert.notEqual(rt.rotateAgentKey(BOT).keys.at(-1).kid, old)
  assert.equal(rt.revokeAgent(BOT).status, 'revoked')
  assert.throws(() => rt.registerAgent(BOT, { owner: ALICE }), (e) => e instanceof ri.AgentError && e.code === 'agent_exists')
  assert.throws(() => rt.getAgent('agent:acme/nobody'), (e) => e instanceof ri.AgentError && e.code === 'agent_unknown')
  assert.throws(() => rt.registerAgent('not an id', { owner: ALICE }), (e) => e instanceof ri.InvalidArgumentError && e.code === 'principal_invalid')
})

test('the scenario requests', () => {
  const { rt, cred } = scenario()
  const r1 = rt.check(cred, { action: 'payments.refund', resource: 'customer/42', args: { amount: 50, currency: 'USD' } })
  assert.equal(r1.allowed, true)
  assert.equal(r1.code, 'granted')
  const r2 = rt.check(cred, { action: 'payments.refund', resource: 'customer/42', args: { amount: 500, currency: 'USD' } })
  assert.equal(r2.code, 'constraint_violated')
  assert.equal(rt.check(cred, { action: 'crm.read', resource: 'customer/42' }).allowed, true)
  const r4 = rt.check(cred, { action: 'payments.refund', resource: 'customer/77', args: { amount: 50, currency: 'USD' } })
  assert.equal(r4.code, 'policy_forbid')
  assert.deepEqual(r4.policies, ['F01'])
  assert.equal(rt.check(cred.token, { action: 'crm.read', resource: 'customer/42' }).allowed, true)
  assert.equal(r1.actor, BOT)
  assert.equal(r1.onBehalfOf, ALICE)
  assert.equal(r1.grantId, cred.grantId)
  assert.match(String(r4), /^Decision\(deny payments\.refund on customer\/77/)
  assert.equal(r1.toJSON().effect, 'allow')
  assert.equal(r2.reasons[0].code, 'constraint_violated')
})

test('approvals end to end', () => {
  const { rt, cred } = scenario()
  const args = { amount: 90, currency: 'USD' }
  const d = rt.check(cred, { action: 'payments.refund', resource: 'customer/42', args })
  assert.equal(d.effect, 'require_approval')
  assert.match(d.approvalRequest.reason, /^refunds over 80/)
  assert.throws(() => rt.approve(d.approvalRequest.id, BOT), ri.ApprovalError)
  const receipt = rt.approve(d.approvalRequest.id, ALICE)
  assert.equal(receipt.id, d.approvalRequest.id)
  assert.equal(rt.check(cred, { action: 'payments.refund', resource: 'customer/42', args: { amount: 95, currency: 'USD' }, approval: receipt.token }).code, 'approval_invalid')
  const ok = rt.check(cred, { action: 'payments.refund', resource: 'customer/42', args, approval: receipt.token })
  assert.equal(ok.code, 'approved')
  assert.equal(rt.check(cred, { action: 'payments.refund', resource: 'customer/42', args, approval: receipt.token }).code, 'approval_invalid')
  const d2 = rt.check(cred, { action: 'payments.refund', resource: 'customer/42', args: { amount: 91, currency: 'USD' } })
  assert.equal(rt.denyApproval(d2.approvalRequest.id, ALICE).status, 'denied')
})

test('sub-agent attenuation, escalation refused', () => {
  const { rt, cred } = scenario()
  const sub = cred.attenuate({ to: HELPER, scopes: [{ actions: ['payments.refund'], resources: ['customer/42'], constraints: { amount: { max: 50 }, currency: { eq: 'USD' } } }], ttl: 600 })
  assert.deepEqual(sub.agents, [BOT, HELPER])
  assert.equal(sub.chain[1].issuer, BOT)
  assert.ok(sub.expiresAt <= cred.expiresAt)
  assert.equal(rt.check(sub, { action: 'payments.refund', resource: 'customer/42', args: { amount: 40, currency: 'USD' } }).allowed, true)
  assert.equal(rt.check(sub, { action: 'crm.read', resource: 'customer/42' }).code, 'action_not_granted')
  assert.throws(() => sub.attenuate({ to: BOT, scopes: [{ actions: ['payments.*'], resources: ['customer/*'] }] }), (e) => e instanceof ri.DelegationError && e.code === 'scope_escalation')
  const again = rt.attenuate(sub.token, { to: BOT, scopes: { actions: ['payments.refund'], resources: ['customer/42'], constraints: { amount: { max: 10 }, currency: { eq: 'USD' } } } })
  assert.deepEqual(again.agents, [BOT, HELPER, BOT])
})

test('revocation and suspension take effect on the next call', () => {
  const { rt, cred } = scenario()
  const sub = cred.attenuate({ to: HELPER, scopes: [{ actions: ['crm.read'], resources: ['customer/42'] }] })
  const read = { action: 'crm.read', resource: 'customer/42' }
  assert.equal(rt.check(sub, read).allowed, true)
  rt.suspendAgent(BOT)
  assert.equal(rt.check(sub, read).code, 'agent_suspended')
  assert.throws(() => rt.verify(sub.token), (e) => e instanceof ri.InvalidCredentialError && e.code === 'agent_suspended')
  rt.resumeAgent(BOT)
  assert.equal(rt.check(sub, read).allowed, true)
  assert.deepEqual(rt.revoke(cred), [cred.grantId, sub.grantId])
  assert.equal(rt.check(sub, read).code, 'grant_revoked')
})

test('credentials keep their secret and bad input gets typed errors', () => {
  const { rt, cred } = scenario()
  assert.ok(!String(cred).includes(cred.token))
  assert.ok(!JSON.stringify(cred).includes(cred.token))
  assert.throws(() => rt.verify('a.b.c~AAAA'), (e) => e instanceof ri.InvalidCredentialError && e.code === 'token_malformed')
  assert.throws(() => rt.verify('a.b.c'), (e) => e instanceof ri.InvalidCredentialError && e.code === 'seal_invalid')
  assert.throws(() => rt.loadPolicies('permit(principal, action, resource) when {'), (e) => e instanceof ri.PolicyError)
  assert.throws(() => rt.delegate({ to: BOT, onBehalfOf: ALICE, scopes: [{ actions: [] }] }), (e) => e.code === 'scope_invalid')
  assert.throws(() => rt.delegate({ to: BOT, onBehalfOf: ALICE, scopes: [{ actions: ['crm.read'] }], ttl: 'forever' }), (e) => e.code === 'ttl_invalid')
  assert.throws(() => rt.check(cred, { action: 'crm.read', args: [1, 2] }), (e) => e.code === 'invalid_argument')
  assert.equal(rt.check('not a token', { action: 'crm.read' }).code, 'credential_invalid')
  assert.throws(() => ri.Runtime.inMemory({ durability: 'sometimes' }), ri.InvalidArgumentError)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rid-node-'))
  ri.Runtime.open(path.join(dir, 'rt'), { issuer: 'org:acme' }).close()
  fs.writeFileSync(path.join(dir, 'rt', 'store.db'), 'not sqlite'.repeat(100))
  assert.throws(() => ri.Runtime.open(path.join(dir, 'rt')), ri.StoreError)
})

test('a runtime folder keeps state and a verifiable audit log across opens', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rid-node-'))
  const home = path.join(dir, 'rt')
  const rt = ri.Runtime.open(home, { issuer: 'org:acme', durability: 'buffered' })
  rt.registerAgent(BOT, { owner: ALICE })
  const cred = rt.delegate({ to: BOT, onBehalfOf: ALICE, scopes: [{ actions: ['crm.read'] }] })
  const d = rt.check(cred, { action: 'crm.read', resource: 'customer/1', context: { txn: 'run-1' } })
  rt.recordOutcome(d.decisionId, { ok: true, durationMs: 3 })
  rt.close()
  const again = ri.Runtime.open(home)
  assert.equal(again.issuer, 'org:acme')
  assert.equal(again.verify(cred.token).actor, BOT)
  assert.equal(again.audit.verify().ok, true)
  const events = again.audit.events({ decisionId: d.decisionId })
  assert.deepEqual(events.map((e) => e.type), ['decision', 'outcome'])
  assert.equal(events[0].txn, 'run-1')
  assert.match(again.audit.explain(d.decisionId).text, /org:acme -> agent:acme\/support-bot/)
})

test('a fixed clock for tests and vectors', () => {
  const rt = ri.Runtime.inMemory({ issuer: 'org:acme', fixedTime: 1796000000 })
  rt.registerAgent(BOT, { owner: ALICE })
  const cred = rt.delegate({ to: BOT, onBehalfOf: ALICE, scopes: [{ actions: ['crm.read'] }], ttl: 60 })
  assert.equal(cred.expiresAt, 1796000060)
  rt.setTime(1796000000 + 60 + 31)
  assert.equal(rt.check(cred, { action: 'crm.read' }).code, 'credential_expired')
  assert.throws(() => ri.Runtime.inMemory().setTime(1), ri.InvalidArgumentError)
})

test('arguments sent as JSON text decide and digest exactly as arguments sent as values', () => {
  const { rt, cred } = require('./scenario').scenario()
  // A null-prototype object is not taken by json.js's fast test: it is read by snapshot.js.
  const asValue = (v) => Object.assign(Object.create(null), v, { __proto__: null, big: 4294967296 })
  const cases = [
    {},
    { amount: 50, currency: 'USD' },
    { amount: 500, currency: 'USD' },
    { amount: 50.5, currency: 'USD' },
    { amount: -0, currency: 'USD' },
    { amount: 4294967295, n: -2147483648, f: 0.1, e: 1e-7 },
    { s: 'é😀"\\\n\u0001', empty: '' },
    { n: null, t: true, f: false },
    { list: [1, 'x', { b: [null, 2.25] }], nested: { a: { b: { c: 'd' } } } },
  ]
  const digest = (d) => rt.audit.events({ decisionId: d.decisionId })[0].args_digest
  const { argsText } = require('../lib/json')
  for (const args of cases) {
    assert.notEqual(argsText(args), null, `${JSON.stringify(args)} takes the text path`)
    assert.equal(argsText(asValue(args)), null)
    for (const action of ['payments.refund', 'crm.read']) {
      const text = rt.check(cred, { action, resource: 'customer/42', args: { ...args, big: 4294967296 } })
      const value = rt.check(cred, { action, resource: 'customer/42', args: asValue(args) })
      const label = `${action} ${JSON.stringify(args)}`
      assert.deepEqual([text.effect, text.reasons, text.policies], [value.effect, value.reasons, value.policies], label)
      assert.equal(digest(text), digest(value), label)
      assert.equal(rt.actionHash(cred, { action, resource: 'customer/42', args: { ...args, big: 4294967296 } }), rt.actionHash(cred, { action, resource: 'customer/42', args: asValue(args) }), label)
    }
  }
  // Values JSON text would change, and values a check cannot hold, are refused (snapshot.js).
  assert.equal(rt.check(cred, { action: 'crm.read', resource: 'customer/42', args: { v: 2 ** 60 } }).code, 'request_invalid')
  for (const v of [Number.NaN, [undefined], new Map(), new (class Holder {})()]) {
    assert.throws(() => rt.check(cred, { action: 'crm.read', resource: 'customer/42', args: { v } }), ri.InvalidArgumentError)
  }
  assert.throws(() => rt.check(cred, { action: 'crm.read', resource: 'customer/42', args: [1] }), ri.InvalidArgumentError)
})

test('rotating a compromised key revokes its grants (issue 16 item 8)', () => {
  const rt = ri.Runtime.inMemory({ issuer: 'org:acme' })
  rt.registerAgent(BOT, { owner: ALICE })
  const cred = rt.delegate({ to: BOT, onBehalfOf: ALICE, scopes: [{ actions: ['crm.read'] }] })
  const first = rt.check(cred, { action: 'crm.read', resource: 'customer/1' })
  assert.equal(first.allowed, true)
  assert.equal(first.proof, false)
  rt.rotateAgentKey(BOT, { compromised: true })
  assert.equal(rt.check(cred, { action: 'crm.read', resource: 'customer/1' }).code, 'grant_revoked')
  const fresh = rt.delegate({ to: BOT, onBehalfOf: ALICE, scopes: [{ actions: ['crm.read'] }] })
  rt.rotateAgentKey(BOT)
  assert.equal(rt.check(fresh, { action: 'crm.read', resource: 'customer/1' }).allowed, true)
})
