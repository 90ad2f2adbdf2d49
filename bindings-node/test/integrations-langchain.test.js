'use strict'
// LangChain (`@langchain/core` 1.x) with the real package: guarded tools invoked with their
// input and with ToolCalls, as an agent does (no model, no network).
const test = require('node:test')
const assert = require('node:assert/strict')
const ri = require('..')
const { actingAs } = ri
const { tool, DynamicStructuredTool } = require('@langchain/core/tools')
const { ToolMessage } = require('@langchain/core/messages')
const { z } = require('zod')
const { guardTool } = require('../integrations/langchain')
const { scenario, ALICE } = require('./scenario')

const ran = []
const refund = tool(
  async ({ customerId, amount, currency }) => {
    ran.push(amount)
    return `refunded ${amount} ${currency} to ${customerId}`
  },
  {
    name: 'refund',
    description: 'Refund a customer',
    schema: z.object({ customerId: z.string(), amount: z.number(), currency: z.string().default('USD') }),
  },
)
const readCustomer = tool(({ customerId }) => `customer ${customerId}: Ada`, {
  name: 'read_customer',
  description: 'Read a customer record',
  schema: z.object({ customerId: z.string() }),
})
const toolCall = (name, args, id) => ({ name, args, id, type: 'tool_call' })
const outcomes = (rt) => rt.audit.events({ type: 'outcome' }).map((e) => e.outcome.status)

test('guardTool: allowed, denied, refusal as the result or an error ToolMessage', async () => {
  const { rt, cred } = scenario()
  ran.length = 0
  const guarded = guardTool(refund, 'payments.refund', { resource: 'customer/{customerId}' })
  assert.ok(guarded instanceof DynamicStructuredTool)
  assert.equal(guarded.name, 'refund')
  assert.equal(guarded.schema, refund.schema)
  await actingAs(cred, async () => {
    // The schema's default (currency) is applied before the check.
    assert.equal(await guarded.invoke({ customerId: '42', amount: 10 }), 'refunded 10 USD to 42')
    assert.equal(await guarded.invoke({ customerId: '42', amount: 500 }), 'denied (constraint_violated): `amount` = 500 exceeds max 100')
    const ok = await guarded.invoke(toolCall('refund', { customerId: '42', amount: 20 }, 'call_1'))
    assert.ok(ok instanceof ToolMessage)
    assert.deepEqual([ok.status, ok.content, ok.tool_call_id], ['success', 'refunded 20 USD to 42', 'call_1'])
    const no = await guarded.invoke(toolCall('refund', { customerId: '77', amount: 5 }, 'call_2'))
    assert.ok(no instanceof ToolMessage)
    assert.deepEqual([no.status, no.content, no.tool_call_id, no.name], ['error', 'denied (policy_forbid): forbidden by policy F01', 'call_2', 'refund'])
    assert.equal(await guarded.invoke({ customerId: '42', amount: 90 }), 'needs approval (approval_required): approval needed: refunds over 80 need a second pair of eyes')
  })
  assert.deepEqual(ran, [10, 20])
  assert.deepEqual(outcomes(rt), ['ok', 'ok'])
  // The original tool is unchanged.
  assert.equal(await refund.invoke({ customerId: '77', amount: 1 }), 'refunded 1 USD to 77')
  assert.equal(rt.audit.verify().ok, true)
})

test('no identity fails closed; the identity from the run context; onDeny: throw', async () => {
  const { rt, cred } = scenario()
  const guarded = guardTool(readCustomer, 'crm.read', { resource: 'customer/{customerId}' })
  await assert.rejects(guarded.invoke({ customerId: '42' }), ri.NoIdentityContextError)
  await assert.rejects(guarded.invoke(toolCall('read_customer', { customerId: '42' }, 'c1')), ri.NoIdentityContextError)
  assert.equal(await guarded.invoke({ customerId: '42' }, { context: { credential: cred } }), 'customer 42: Ada')
  const raising = guardTool(readCustomer, 'crm.read', { resource: (input) => `customer/${input.customerId}`, onDeny: 'throw' })
  await actingAs(cred, () => assert.rejects(raising.invoke({ customerId: '77' }), (e) => e instanceof ri.DeniedError && e.code === 'policy_forbid'))
  assert.deepEqual(outcomes(rt), ['ok'])
})

test('approvals through onApproval; errors inside the tool are recorded', async () => {
  const { rt, cred } = scenario()
  ran.length = 0
  const asked = []
  const approved = guardTool(refund, 'payments.refund', {
    resource: 'customer/{customerId}',
    onApproval: (request) => { asked.push(request.reason); return request.approve(ALICE) },
  })
  const failing = guardTool(tool(async () => { throw new Error('crm is down') }, { name: 'read', schema: z.object({ customerId: z.string() }) }), 'crm.read', { resource: 'customer/{customerId}' })
  await actingAs(cred, async () => {
    assert.equal(await approved.invoke({ customerId: '42', amount: 90 }), 'refunded 90 USD to 42')
    await assert.rejects(failing.invoke({ customerId: '42' }), /crm is down/)
  })
  assert.deepEqual(asked, ['refunds over 80 need a second pair of eyes'])
  assert.deepEqual(rt.audit.events({ type: 'approval.granted' }).map((e) => e.approver), [ALICE])
  assert.deepEqual(rt.audit.events({ type: 'outcome' }).map((e) => [e.outcome.status, e.outcome.error]), [['ok', undefined], ['error', 'Error']])
  assert.equal(rt.audit.verify().ok, true)
})
