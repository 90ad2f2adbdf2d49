'use strict'
// The shared guard cases (tests/guard_cases.json), also run by
// bindings-python/tests/test_guard_cases.py.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const ri = require('..')
const { scenario, ALICE } = require('./scenario')

const { cases } = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'guard_cases.json'), 'utf8'))

/** A tool of the case's members that records what it received (Node's tool takes one object). */
function tool(spec, received) {
  const pick = (input) => Object.fromEntries(spec.params.filter((p) => input[p] !== undefined).map((p) => [p, input[p]]))
  if (spec.kind === 'stream') {
    return async function* (input) {
      received.push(pick(input))
      for (let i = 0; i < 3; i++) yield i
    }
  }
  return (input) => {
    received.push(pick(input))
    return pick(input)
  }
}

for (const c of cases) {
  test(c.name, async () => {
    const expect = c.expect_node || c.expect
    const { rt, cred } = scenario()
    const spec = c.tool
    const received = []
    const onApproval = spec.on_approval === 'async_approve' ? async (req) => req.approve(ALICE) : undefined
    const guarded = ri.guard('payments.refund', tool(spec, received), { resource: spec.resource, defaults: spec.defaults, onApproval })
    try {
      await ri.actingAs(cred, async () => {
        const out = guarded({ ...c.call })
        if (expect.promise !== undefined) assert.equal(out instanceof Promise, expect.promise)
        const value = await out
        if (spec.kind === 'stream') {
          for await (const item of value) {
            assert.equal(item, 0)
            break
          }
        }
      })
    } catch (e) {
      if (e instanceof ri.DeniedError) return assert.equal(e.code, expect.denied, JSON.stringify(expect))
      if (e instanceof ri.ApprovalRequiredError) return assert.ok(expect.approval_required, JSON.stringify(expect))
      if (e instanceof TypeError) return assert.equal(expect.error, 'TypeError', e.message)
      throw e
    }
    assert.ok(!('denied' in expect) && !('error' in expect) && !('approval_required' in expect), JSON.stringify(expect))
    assert.equal(expect.ran, true)
    assert.equal(received.length, 1)
    if (expect.received) assert.deepEqual(received[0], expect.received)
    if (expect.resource) assert.equal(rt.audit.events({ type: 'decision' }).at(-1).resource, expect.resource)
    if (expect.outcome) {
      const outcome = rt.audit.events({ type: 'outcome' }).at(-1).outcome
      assert.deepEqual(Object.fromEntries(Object.keys(expect.outcome).map((k) => [k, outcome[k]])), expect.outcome)
    }
  })
}
