'use strict'
// What a guarded call checks is what its tool receives (issue 16, items 1 and 2): values a
// check cannot hold are refused, never left out; the tool gets one copy of its input, read
// once, so a getter or a Proxy cannot answer the check and the tool differently.
const test = require('node:test')
const assert = require('node:assert/strict')
const ri = require('..')
const { guard, actingAs, InvalidArgumentError } = ri
const { scenario, ALICE, BOT } = require('./scenario')

const decisions = (rt) => rt.audit.events({ type: 'decision' })

function refundTool(seen) {
  return guard('payments.refund', (input) => { seen.push(input); return `refunded ${input.amount} to customer/${input.customerId}` }, {
    resource: 'customer/{customerId}',
  })
}

test('a getter that answers 50 to the check cannot charge the tool 5000', () => {
  const { cred } = scenario()
  const seen = []
  const refund = refundTool(seen)
  let reads = 0
  const input = { customerId: '42', currency: 'USD', get amount() { reads += 1; return reads <= 2 ? 50 : 5000 } }
  const out = actingAs(cred, () => refund(input))
  assert.equal(out, 'refunded 50 to customer/42')
  assert.equal(seen[0].amount, 50)
  assert.equal(reads, 1, 'read once')
  assert.notEqual(seen[0], input, 'the tool receives the checked copy')
})

test('a Proxy cannot show the check one customer and the tool another', () => {
  const { cred } = scenario()
  const seen = []
  const refund = refundTool(seen)
  let reads = 0
  // customer/77 is pci (forbidden); customer/42 is internal.
  const input = new Proxy({ customerId: '77', amount: 10, currency: 'USD' }, {
    get(target, key) {
      if (key === 'customerId') { reads += 1; return reads <= 2 ? '42' : '77' }
      return target[key]
    },
  })
  const out = actingAs(cred, () => refund(input))
  assert.equal(out, 'refunded 10 to customer/42')
  assert.equal(seen[0].customerId, '42')
})

test('a getter in the resource template and an args selection read the same snapshot', () => {
  const { rt, cred } = scenario()
  const seen = []
  const selected = guard('payments.refund', (input) => { seen.push(input); return input.customerId }, {
    resource: 'customer/{customerId}',
    args: ['amount', 'currency'],
  })
  let reads = 0
  const input = { amount: 10, currency: 'USD', get customerId() { reads += 1; return reads === 1 ? '42' : '77' } }
  assert.equal(actingAs(cred, () => selected(input)), '42')
  assert.equal(decisions(rt).at(-1).resource, 'customer/42')
  let amountReads = 0
  const big = { customerId: '42', currency: 'USD', get amount() { amountReads += 1; return amountReads === 1 ? 50 : 5000 } }
  actingAs(cred, () => selected(big))
  assert.equal(seen.at(-1).amount, 50)
})

test('an approved call runs with the copy its first check saw', async () => {
  const { cred } = scenario()
  const seen = []
  const approved = guard('payments.refund', (input) => { seen.push(input.amount); return 'done' }, {
    resource: 'customer/{customerId}',
    onApproval: async (req) => req.approve(ALICE),
  })
  let reads = 0
  const input = { customerId: '42', currency: 'USD', get amount() { reads += 1; return reads === 1 ? 90 : 5000 } }
  assert.equal(await actingAs(cred, () => approved(input)), 'done')
  assert.deepEqual(seen, [90])
})

test('values a check cannot hold are refused, naming them; nothing runs', () => {
  const { rt, cred } = scenario()
  const seen = []
  const refund = refundTool(seen)
  class Money { constructor(v) { this.v = v } }
  const cases = [
    [new Money(50), 'Money'],
    [new Map([['x', 1]]), 'Map'],
    [new Set([1]), 'Set'],
    [() => 50, 'Function'],
    [Symbol('x'), 'symbol'],
    [2n ** 60n, 'BigInt'],
    [NaN, 'finite'],
    [Infinity, 'finite'],
    [new Date(NaN), 'invalid Date'],
    [[1, undefined], 'undefined'],
    [{ deep: [new Money(1)] }, 'Money'],
  ]
  for (const [amount, what] of cases) {
    assert.throws(
      () => actingAs(cred, () => refund({ customerId: '42', currency: 'USD', amount })),
      (e) => e instanceof InvalidArgumentError && e.code === 'invalid_argument' && e.message.includes('`amount') && e.message.includes(what),
      String(what),
    )
  }
  // The input itself must be an object of named values.
  for (const input of [new Money(1), 'customer 42', 42, [1]]) {
    assert.throws(() => actingAs(cred, () => refund(input)), (e) => e instanceof InvalidArgumentError && e.code === 'invalid_argument')
  }
  assert.deepEqual(seen, [])
  assert.equal(decisions(rt).length, 0, 'refused before anything is checked')
  // The raw check refuses them too, instead of converting them silently.
  assert.throws(() => rt.check(cred, { action: 'crm.read', resource: 'customer/42', args: { m: new Map() } }), InvalidArgumentError)
  // An explicit selection leaves an argument out.
  const withHandle = guard('payments.refund', ({ conn }) => conn, { resource: 'customer/{customerId}', args: ['amount', 'currency'] })
  const conn = new Money(0)
  assert.equal(actingAs(cred, () => withHandle({ customerId: '42', amount: 1, currency: 'USD', conn })), conn)
})

test('a Date is checked as its ISO string and a safe BigInt as its number', () => {
  const { rt, cred } = scenario()
  const seen = []
  const read = guard('crm.read', (input) => { seen.push(input); return 'ok' }, { resource: 'customer/42' })
  const when = new Date(Date.UTC(2026, 11, 3, 14, 5, 6, 7))
  actingAs(cred, () => read({ when, n: 7n }))
  actingAs(cred, () => read({ when: '2026-12-03T14:05:06.007Z', n: 7 }))
  const [a, b] = decisions(rt).slice(-2)
  assert.equal(a.args_digest, b.args_digest)
  assert.ok(seen[0].when instanceof Date && seen[0].when !== when && seen[0].when.getTime() === when.getTime())
  assert.equal(seen[0].n, 7n)
})

test('a plain input is checked as before and the tool gets an equal copy', () => {
  const { rt, cred } = scenario()
  const seen = []
  const refund = refundTool(seen)
  const input = { customerId: '42', amount: 50, currency: 'USD', meta: { tags: ['a', 'b'] } }
  actingAs(cred, () => refund(input))
  assert.deepEqual(seen[0], input)
  assert.equal(decisions(rt).at(-1).actor, BOT)
})

test('a `__proto__` member is copied as a member, never as the copy\'s prototype', () => {
  const { snapshotArgs } = require('../lib/snapshot')
  // JSON.parse (what MCP and model tool calls give) makes `__proto__` an own member.
  const input = JSON.parse('{"customerId":"42","nested":{"__proto__":{"amount":5000}},"__proto__":{"amount":5000}}')
  const { copy, text } = snapshotArgs(input)
  for (const obj of [copy, copy.nested]) {
    assert.equal(Object.getPrototypeOf(obj), Object.prototype)
    assert.equal(obj.amount, undefined, 'the tool reads no member the check did not see')
    assert.deepEqual(Object.keys(obj).includes('__proto__'), true)
  }
  assert.deepEqual(JSON.parse(text), input)
  assert.equal(snapshotArgs.members(input).amount, undefined)
})
