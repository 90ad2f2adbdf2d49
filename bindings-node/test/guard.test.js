'use strict'
// guard on sync, async and async-iterable functions; errors inside the tool propagate
// unchanged with outcome `error`; approvals through onApproval; callAs.
const test = require('node:test')
const assert = require('node:assert/strict')
const ri = require('..')
const { guard, actingAs } = ri
const { scenario, ALICE, BOT } = require('./scenario')

const refund = guard('payments.refund', ({ customerId, amount, currency = 'USD' }) => `refunded ${amount} ${currency} to ${customerId}`, {
  resource: 'customer/{customerId}',
  args: ({ amount, currency = 'USD' }) => ({ amount, currency }),
})
const outcomes = (rt) => rt.audit.events({ type: 'outcome' }).map((e) => e.outcome)

test('sync functions: allowed, denied, recorded', () => {
  const { rt, cred } = scenario()
  actingAs(cred, () => {
    assert.equal(refund({ customerId: '42', amount: 50 }), 'refunded 50 USD to 42')
    assert.throws(() => refund({ customerId: '42', amount: 500 }), (e) => e instanceof ri.DeniedError && e.code === 'constraint_violated' && e.decision.resource === 'customer/42')
  })
  assert.deepEqual(outcomes(rt).map((o) => o.status), ['ok'])
  assert.equal(refund.name, '')
  const named = guard('crm.read', function readCustomer({ id }) { return id }, { resource: 'customer/{id}' })
  assert.equal(named.name, 'readCustomer')
  assert.equal(named.length, 1)
})

test('errors inside the tool propagate unchanged and are recorded', async () => {
  const { rt, cred } = scenario()
  class Boom extends Error { constructor() { super('the tool failed'); this.name = 'Boom' } }
  const err = new Boom()
  const failing = guard('crm.read', () => { throw err }, { resource: 'customer/42' })
  const afailing = guard('crm.read', async () => { await null; throw err }, { resource: 'customer/42' })
  actingAs(cred, () => assert.throws(() => failing(), (e) => e === err))
  await actingAs(cred, () => assert.rejects(afailing(), (e) => e === err))
  const os = outcomes(rt)
  assert.deepEqual(os.map((o) => [o.status, o.error]), [['error', 'Boom'], ['error', 'Boom']])
  assert.ok(os[0].duration_ms >= 0)
})

test('async functions', async () => {
  const { rt, cred } = scenario()
  const lookup = guard('crm.read', async ({ id }) => { await new Promise((r) => setTimeout(r, 1)); return `customer ${id}` }, { resource: 'customer/{id}' })
  assert.equal(await actingAs(cred, () => lookup({ id: '42' })), 'customer 42')
  await actingAs(cred, () => assert.throws(() => lookup({ id: '77' }), ri.DeniedError))
  assert.throws(() => lookup({ id: '42' }), ri.NoIdentityContextError)
  assert.equal(await lookup.callAs(cred, { id: '42' }), 'customer 42')
  assert.equal(outcomes(rt).length, 2)
})

test('async iterables are checked before the first item', async () => {
  const { rt, cred } = scenario()
  const rows = guard('crm.read', async function* ({ id, n }) { for (let i = 0; i < n; i++) { await null; yield `${id}.${i}` } }, { resource: 'customer/{id}' })
  const got = []
  await actingAs(cred, async () => { for await (const r of rows({ id: '42', n: 3 })) got.push(r) })
  assert.deepEqual(got, ['42.0', '42.1', '42.2'])
  assert.equal(outcomes(rt).at(-1).status, 'ok')
  await actingAs(cred, async () => assert.throws(() => rows({ id: '77', n: 1 }), ri.DeniedError))
  // Stopped early: recorded as not finished.
  await actingAs(cred, async () => { for await (const r of rows({ id: '42', n: 5 })) { if (r) break } })
  assert.deepEqual([outcomes(rt).at(-1).status, outcomes(rt).at(-1).error], ['error', 'Cancelled'])
})

test('approvals: onApproval sync and async, refused, missing', async () => {
  const { rt, cred } = scenario()
  const asked = []
  const big = guard('payments.refund', ({ amount }) => `done ${amount}`, {
    resource: 'customer/42',
    args: ({ amount }) => ({ amount, currency: 'USD' }),
    onApproval: (req) => { asked.push(req); return req.approve(ALICE) },
  })
  const refused = guard('payments.refund', () => 'done', { resource: 'customer/42', args: ({ amount }) => ({ amount, currency: 'USD' }), onApproval: () => null })
  const later = guard('payments.refund', () => 'done later', {
    resource: 'customer/42',
    args: ({ amount }) => ({ amount, currency: 'USD' }),
    onApproval: async (req) => (await Promise.resolve(req.approve(ALICE))).token,
  })
  actingAs(cred, () => {
    assert.equal(big({ amount: 90 }), 'done 90')
    assert.throws(() => refused({ amount: 91 }), (e) => e instanceof ri.ApprovalRequiredError && e.code === 'approval_required' && typeof e.request.id === 'string')
    assert.throws(() => refund({ customerId: '42', amount: 92 }), ri.ApprovalRequiredError)
  })
  assert.equal(await actingAs(cred, () => later({ amount: 93 })), 'done later')
  assert.equal(asked.length, 1)
  assert.equal(asked[0].actor, BOT)
  assert.match(asked[0].reason, /refunds over 80/)
  const kinds = rt.audit.events().map((e) => e.type)
  assert.ok(kinds.includes('approval.granted') && kinds.includes('approval.consumed'))
})

test('resource templates need the argument they name', () => {
  const { cred } = scenario()
  actingAs(cred, () => assert.throws(() => refund({ amount: 1 }), TypeError))
})
