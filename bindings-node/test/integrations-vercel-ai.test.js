'use strict'
// The Vercel AI SDK (`ai` 7) with the real package: guarded tools driven by generateText and a
// scripted mock model (no network), and called directly.
const test = require('node:test')
const assert = require('node:assert/strict')
const ri = require('..')
const { actingAs } = ri
const { ToolGate, guardTool, approve, deny } = require('../integrations/vercel-ai')
const { scenario, ALICE, BOT } = require('./scenario')

let ai, MockLanguageModelV4, z
test.before(async () => {
  // `ai` is an ES module: import() loads it from CommonJS on every Node version.
  ai = await import('ai')
  ;({ MockLanguageModelV4 } = await import('ai/test'))
  ;({ z } = await import('zod'))
})

const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } }
const call = (toolCallId, toolName, input) => ({ type: 'tool-call', toolCallId, toolName, input: JSON.stringify(input) })

/** A model that answers each generation with the next turn: tool calls, or text. */
function scripted(...turns) {
  let i = 0
  return new MockLanguageModelV4({
    doGenerate: async () => {
      const turn = turns[i++]
      if (!turn) throw new Error('the script has no more turns')
      if (typeof turn === 'string') return { content: [{ type: 'text', text: turn }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] }
      return { content: turn, finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage, warnings: [] }
    },
  })
}

function refundTool(ran = []) {
  return ai.tool({
    description: 'Refund a customer',
    inputSchema: z.object({ customerId: z.string(), amount: z.number(), currency: z.string().default('USD') }),
    execute: async ({ customerId, amount, currency }) => {
      ran.push(amount)
      return `refunded ${amount} ${currency} to ${customerId}`
    },
  })
}

const toolOutputs = (steps) => steps.flatMap((s) => s.content).filter((p) => p.type === 'tool-result').map((p) => p.output)
const outcomes = (rt) => rt.audit.events({ type: 'outcome' }).map((e) => e.outcome.status)
const opts = (toolCallId) => ({ toolCallId, messages: [], context: undefined })

test('direct execute: allowed, denied, forbidden, needs approval, no identity', async () => {
  const { rt, cred } = scenario()
  const refund = guardTool(refundTool(), 'payments.refund', { resource: 'customer/{customerId}' })
  assert.equal(refund.description, 'Refund a customer')
  await actingAs(cred, async () => {
    assert.equal(await refund.execute({ customerId: '42', amount: 10, currency: 'USD' }, opts('d1')), 'refunded 10 USD to 42')
    assert.match(await refund.execute({ customerId: '42', amount: 500, currency: 'USD' }, opts('d2')), /^denied \(constraint_violated\): /)
    assert.match(await refund.execute({ customerId: '77', amount: 5, currency: 'USD' }, opts('d3')), /^denied \(policy_forbid\): /)
    // Without the SDK's approval step there is no receipt: refused, never run.
    assert.equal(await refund.execute({ customerId: '42', amount: 90, currency: 'USD' }, opts('d4')), 'needs approval (approval_required): approval needed: refunds over 80 need a second pair of eyes')
  })
  await assert.rejects(async () => refund.execute({ customerId: '42', amount: 10, currency: 'USD' }, opts('d5')), ri.NoIdentityContextError)
  // The identity can come in the tool's context instead of actingAs.
  const viaContext = await refund.execute({ customerId: '42', amount: 11, currency: 'USD' }, { ...opts('d6'), context: { credential: cred } })
  assert.equal(viaContext, 'refunded 11 USD to 42')
  assert.deepEqual(outcomes(rt), ['ok', 'ok'])
  assert.equal(rt.audit.verify().ok, true)
})

test("onDeny: 'throw', tool errors recorded, a resource function, a guarded function inside", async () => {
  const { rt, cred } = scenario()
  const strict = guardTool(refundTool(), 'payments.refund', { resource: (input) => `customer/${input.customerId}`, runtime: rt, onDeny: 'throw' })
  const inner = ri.guard('crm.read', ({ id }) => `read ${id}`, { resource: 'customer/{id}' })
  const failing = guardTool(ai.tool({ inputSchema: z.object({ id: z.string() }), execute: async ({ id }) => { inner({ id }); throw new Error('boom') } }), 'crm.read', { resource: 'customer/{id}' })
  await actingAs(cred, async () => {
    await assert.rejects(async () => strict.execute({ customerId: '77', amount: 5, currency: 'USD' }, opts('t1')), (e) => e instanceof ri.DeniedError && e.code === 'policy_forbid')
    await assert.rejects(async () => strict.execute({ customerId: '42', amount: 90, currency: 'USD' }, opts('t2')), ri.ApprovalRequiredError)
    await assert.rejects(async () => failing.execute({ id: '42' }, opts('t3')), /boom/)
  })
  const os = rt.audit.events({ type: 'outcome' }).map((e) => [e.outcome.status, e.outcome.error])
  assert.deepEqual(os, [['ok', undefined], ['error', 'Error']]) // the inner guarded call, then the tool
})

test('a tool that streams preliminary results is recorded when its stream ends', async () => {
  const { rt, cred } = scenario()
  const rows = guardTool(ai.tool({ inputSchema: z.object({ id: z.string() }), async *execute({ id }) { yield `${id}: loading`; yield `${id}: Ada` } }), 'crm.read', { resource: 'customer/{id}' })
  const got = []
  await actingAs(cred, async () => { for await (const r of rows.execute({ id: '42' }, opts('s1'))) got.push(r) })
  assert.deepEqual(got, ['42: loading', '42: Ada'])
  assert.deepEqual(outcomes(rt), ['ok'])
})

test('generateText: allowed and refused calls, a refusal the model reads', async () => {
  const { rt, cred } = scenario()
  const ran = []
  const tools = { refund: guardTool(refundTool(ran), 'payments.refund', { resource: 'customer/{customerId}' }) }
  const model = scripted([call('c1', 'refund', { customerId: '42', amount: 20 }), call('c2', 'refund', { customerId: '77', amount: 5 })], 'done')
  const r = await actingAs(cred, () => ai.generateText({ model, tools, prompt: 'refund', stopWhen: ai.stepCountIs(3) }))
  assert.equal(r.text, 'done')
  assert.deepEqual(toolOutputs(r.steps), ['refunded 20 USD to 42', 'denied (policy_forbid): forbidden by policy F01'])
  assert.deepEqual(ran, [20])
  // The model's second turn saw both results, the refusal included.
  const seen = JSON.stringify(model.doGenerateCalls[1].prompt)
  assert.match(seen, /denied \(policy_forbid\)/)
  assert.deepEqual(outcomes(rt), ['ok'])
  assert.equal(rt.audit.events({ type: 'decision' }).length, 2) // one check per call
})

test('generateText: require_approval becomes a tool approval, approved by a person through the gate', async () => {
  const { rt, cred } = scenario()
  const ran = []
  const gate = new ToolGate({ runtime: rt })
  const tools = { refund: gate.guardTool(refundTool(ran), 'payments.refund', { resource: 'customer/{customerId}' }) }
  const model = scripted([call('c1', 'refund', { customerId: '42', amount: 20 }), call('c2', 'refund', { customerId: '42', amount: 90 })], 'done')
  const messages = [{ role: 'user', content: 'refund twice' }]
  const run = () => actingAs(cred, () => ai.generateText({ model, tools, messages, stopWhen: ai.stepCountIs(3) }))

  const first = await run()
  const requests = first.content.filter((p) => p.type === 'tool-approval-request')
  assert.deepEqual(requests.map((p) => p.toolCall.toolCallId), ['c2'])
  assert.deepEqual(ran, [20])
  const asked = gate.pending(requests[0])
  assert.deepEqual([asked.action, asked.resource, asked.actor, asked.onBehalfOf, asked.reason], ['payments.refund', 'customer/42', BOT, ALICE, 'refunds over 80 need a second pair of eyes'])

  const response = gate.approve(requests[0], ALICE)
  assert.deepEqual(response, { type: 'tool-approval-response', approvalId: requests[0].approvalId, approved: true })
  assert.throws(() => gate.approve(requests[0], ALICE), ri.ApprovalError) // no longer pending
  messages.push(...first.responseMessages, { role: 'tool', content: [response] })

  const second = await run()
  assert.equal(second.text, 'done')
  // The approved call ran at the start of the second run; the model read its result.
  assert.deepEqual(second.responseMessages[0].content.map((p) => [p.toolCallId, p.output.value]), [['c2', 'refunded 90 USD to 42']])
  assert.deepEqual(ran, [20, 90])
  const granted = rt.audit.events({ type: 'approval.granted' })
  assert.deepEqual(granted.map((e) => e.approver), [ALICE])
  assert.equal(rt.audit.events({ type: 'approval.consumed' }).length, 1)
  // Three checks: c1, c2 (require_approval), c2 again with the receipt; each outcome recorded.
  assert.deepEqual(rt.audit.events({ type: 'decision' }).map((e) => e.effect), ['allow', 'require_approval', 'allow'])
  assert.deepEqual(outcomes(rt), ['ok', 'ok'])
  assert.equal(rt.audit.verify().ok, true)
})

test('generateText: a person denies; an approval given only through the SDK is not one', async () => {
  const { rt, cred } = scenario()
  const ran = []
  const tools = { refund: guardTool(refundTool(ran), 'payments.refund', { resource: 'customer/{customerId}' }) }
  const model = scripted([call('c1', 'refund', { customerId: '42', amount: 95 })], 'sorry', [call('c2', 'refund', { customerId: '42', amount: 85 })], 'ok')
  const messages = [{ role: 'user', content: 'refund' }]
  const run = () => actingAs(cred, () => ai.generateText({ model, tools, messages, stopWhen: ai.stepCountIs(3) }))

  const first = await run()
  const [req1] = first.content.filter((p) => p.type === 'tool-approval-request')
  messages.push(...first.responseMessages, { role: 'tool', content: [deny(req1, ALICE, 'not today')] })
  const second = await run()
  assert.equal(second.text, 'sorry')
  assert.match(JSON.stringify(model.doGenerateCalls[1].prompt), /not today/)
  assert.deepEqual(rt.audit.events({ type: 'approval.denied' }).map((e) => e.approver), [ALICE])

  messages.push(...second.responseMessages, { role: 'user', content: 'try 85' })
  const third = await run()
  const [req2] = third.content.filter((p) => p.type === 'tool-approval-request')
  // Approved in the SDK's terms only: no person recorded by the runtime, so no receipt.
  messages.push(...third.responseMessages, { role: 'tool', content: [{ type: 'tool-approval-response', approvalId: req2.approvalId, approved: true }] })
  const fourth = await run()
  assert.equal(fourth.text, 'ok')
  assert.match(JSON.stringify(model.doGenerateCalls[3].prompt), /needs approval \(approval_required\)/)
  assert.deepEqual(ran, [])
  assert.deepEqual(outcomes(rt), [])
  assert.equal(rt.audit.verify().ok, true)
})

test('streamText: the same approval flow', async () => {
  const { rt, cred } = scenario()
  const { convertArrayToReadableStream } = await import('ai/test')
  const turns = [
    [call('s1', 'refund', { customerId: '42', amount: 20 }), call('s2', 'refund', { customerId: '42', amount: 90 }), { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage }],
    [{ type: 'text-start', id: 't' }, { type: 'text-delta', id: 't', delta: 'done' }, { type: 'text-end', id: 't' }, { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage }],
  ]
  const model = new MockLanguageModelV4({ doStream: async () => ({ stream: convertArrayToReadableStream([{ type: 'stream-start', warnings: [] }, ...turns.shift()]) }) })
  const tools = { refund: guardTool(refundTool(), 'payments.refund', { resource: 'customer/{customerId}' }) }
  const messages = [{ role: 'user', content: 'refund twice' }]
  const run = () => actingAs(cred, async () => {
    const s = ai.streamText({ model, tools, messages, stopWhen: ai.stepCountIs(3) })
    await s.consumeStream()
    return { content: await s.content, responseMessages: await s.responseMessages, text: await s.text }
  })
  const first = await run()
  const req = first.content.find((p) => p.type === 'tool-approval-request')
  assert.equal(req.toolCall.toolCallId, 's2')
  assert.deepEqual(first.content.filter((p) => p.type === 'tool-result').map((p) => p.output), ['refunded 20 USD to 42'])
  messages.push(...first.responseMessages, { role: 'tool', content: [approve(req, ALICE)] })
  const second = await run()
  assert.equal(second.text, 'done')
  assert.equal(second.responseMessages[0].content[0].output.value, 'refunded 90 USD to 42')
  assert.deepEqual(outcomes(rt), ['ok', 'ok'])
  assert.equal(rt.audit.verify().ok, true)
})

test("generateText({ toolApproval: gate.toolApproval }) carries the policy's reason; no identity fails closed", async () => {
  const { rt, cred } = scenario()
  const gate = new ToolGate()
  const other = ai.tool({ inputSchema: z.object({}), execute: async () => 'other' })
  const tools = { refund: gate.guardTool(refundTool(), 'payments.refund', { resource: 'customer/{customerId}' }), other }
  const model = scripted([call('c1', 'refund', { customerId: '42', amount: 90 }), call('c2', 'other', {})])
  const r = await ai.generateText({ model, tools, prompt: 'go', toolApproval: gate.toolApproval, toolsContext: { refund: { credential: cred } } })
  const [req] = r.content.filter((p) => p.type === 'tool-approval-request')
  assert.equal(req.reason, 'refunds over 80 need a second pair of eyes')
  assert.deepEqual(toolOutputs(r.steps), ['other'])
  assert.equal(rt.audit.events({ type: 'approval.requested' }).length, 1)

  // No actingAs and no credential in the tool's context: the call is not made.
  const ran = []
  const bare = { refund: guardTool(refundTool(ran), 'payments.refund', { resource: 'customer/{customerId}', runtime: rt }) }
  await assert.rejects(
    ai.generateText({ model: scripted([call('c9', 'refund', { customerId: '42', amount: 1 })]), tools: bare, prompt: 'go' }),
    ri.NoIdentityContextError,
  )
  assert.deepEqual(ran, [])
})
