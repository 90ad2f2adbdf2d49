// A Vercel AI SDK agent (`generateText` with tools) whose every tool call is checked by
// runtime-identity. The model is the SDK's mock (`ai/test`: no network, no API key), scripted
// turn by turn: it reads a customer (allowed), asks for a refund above its grant (denied: the
// model reads the refusal as the tool's output), refunds a PCI customer (denied by policy F01),
// and asks for a refund of 90 USD, which policy A01 sends to a person: the SDK stops with a tool
// approval request, alice approves through the gate, and the call runs once in the next run.
// Run: `node examples/node/vercel_ai.mjs` (after `cd bindings-node && npm ci`).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Runtime, actingAs } from '../../bindings-node/index.mjs'
import { ToolGate } from '../../bindings-node/integrations/vercel-ai.mjs'

// `ai` and `zod` are bindings-node's dev dependencies: load the one copy installed there.
const fromBindings = createRequire(new URL('../../bindings-node/package.json', import.meta.url))
const load = (name) => import(pathToFileURL(fromBindings.resolve(name)).href)
const { generateText, tool, stepCountIs } = await load('ai')
const { MockLanguageModelV4 } = await load('ai/test')
const { z } = await load('zod')

const here = path.dirname(fileURLToPath(import.meta.url))
const ALICE = 'user:alice@acme'
const check = (ok, what) => { if (!ok) throw new Error(`the story did not happen as told: ${what}`) } // this file runs as a test

// The mock model: each generation answers with the next turn of the script (a tool call, or text).
const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } }
const asks = (n, toolName, input) => ({ type: 'tool-call', toolCallId: `call_${n}`, toolName, input: JSON.stringify(input) })
const turns = [
  asks(1, 'readCustomer', { customerId: '42' }),
  asks(2, 'refund', { customerId: '42', amount: 500 }),
  asks(3, 'refund', { customerId: '77', amount: 20 }),
  asks(4, 'refund', { customerId: '42', amount: 90 }),
  { type: 'text', text: "Refunded 90 USD to customer 42 after alice's approval." },
]
const model = new MockLanguageModelV4({
  doGenerate: async () => {
    const part = turns.shift()
    const finish = part.type === 'text' ? 'stop' : 'tool-calls'
    return { content: [part], finishReason: { unified: finish, raw: finish }, usage, warnings: [] }
  },
})

const rt = Runtime.open(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rid-vercel-ai-')), 'rt'), { issuer: 'org:acme' })
rt.registerAgent('agent:acme/support-bot', { owner: ALICE, org: 'acme' })
rt.upsertResource('customer/42', { dataClass: 'internal' })
rt.upsertResource('customer/77', { dataClass: 'pci' })
rt.loadPolicies(fs.readFileSync(path.join(here, '..', 'policies', 'scenario.cedar'), 'utf8')) // F01: no PCI data; A01: refunds over 80 need a person
const cred = rt.delegate({
  to: 'agent:acme/support-bot', onBehalfOf: ALICE, ttl: '15m', purpose: 'ticket 4711',
  scopes: [
    { actions: ['crm.read'], resources: ['customer/*'] },
    { actions: ['payments.refund'], resources: ['customer/*'], constraints: { amount: { max: 100 }, currency: { eq: 'USD' } } },
  ],
})
console.log(`alice grants support-bot: crm.read, and payments.refund up to 100 USD (grant ${cred.grantId})\n`)

const gate = new ToolGate({ runtime: rt })
const tools = {
  readCustomer: gate.guardTool(tool({
    description: 'Read a customer record',
    inputSchema: z.object({ customerId: z.string() }),
    execute: async ({ customerId }) => `customer ${customerId}: Ada Lovelace, 2 open tickets`,
  }), 'crm.read', { resource: 'customer/{customerId}' }),
  refund: gate.guardTool(tool({
    description: 'Refund a customer',
    inputSchema: z.object({ customerId: z.string(), amount: z.number(), currency: z.string().default('USD') }),
    execute: async ({ customerId, amount, currency }) => `refunded ${amount} ${currency} to customer ${customerId}`,
  }), 'payments.refund', { resource: 'customer/{customerId}' }),
}

// Prints a run's conversation (what the model asked, what the tools answered); keeps the answers.
const answers = []
const show = (responseMessages) => {
  for (const p of responseMessages.flatMap((m) => m.content)) {
    if (p.type === 'tool-call') console.log(`agent asks   ${p.toolName}(${JSON.stringify(p.input)})`)
    if (p.type === 'tool-result') { console.log(`tool answers ${p.output.value}`); answers.push(p.output.value) }
    if (p.type === 'text') console.log(`agent says   ${p.text}`)
  }
}
const messages = [{ role: 'user', content: 'Customer 42 was double charged; sort it out.' }]
const run = () => actingAs(cred, () => generateText({ model, tools, messages, stopWhen: stepCountIs(6) }), { context: { txn: 'ticket-4711' } })

const first = await run()
show(first.responseMessages)
const requests = first.content.filter((p) => p.type === 'tool-approval-request')
check(requests.length === 1, 'the 90 USD refund waits for a person')
const ask = gate.pending(requests[0])
console.log(`\n-- paused: ${ask.actor} wants ${ask.action} on ${ask.resource} ${JSON.stringify(ask.args)}`)
console.log(`-- reason: ${ask.reason}; alice approves\n`)
messages.push(...first.responseMessages, { role: 'tool', content: [gate.approve(requests[0], ALICE)] })

const second = await run()
show(second.responseMessages) // the approved call ran first, then the model answered

check(answers[0] === 'customer 42: Ada Lovelace, 2 open tickets', 'the read is allowed')
check(answers[1].startsWith('denied (constraint_violated)'), 'the 500 USD refund is denied by the grant')
check(JSON.stringify(model.doGenerateCalls[2].prompt).includes('denied (constraint_violated)'), 'the model read the refusal')
check(answers[2].startsWith('denied (policy_forbid)'), 'the PCI refund is denied by policy F01')
check(answers[3] === 'refunded 90 USD to customer 42' && answers.length === 4, 'the approved refund runs once')
const decisions = rt.audit.events({ type: 'decision' }).map((e) => `${e.effect}:${e.reasons[0].code}`)
check(decisions.join(' ') === 'allow:granted deny:constraint_violated deny:policy_forbid require_approval:approval_required allow:approved', decisions.join(' '))

const report = rt.audit.verify()
check(report.ok, 'the audit log verifies')
console.log(`\naudit log intact: ${report.ok} (${report.events} events); the approved refund:`)
console.log(rt.audit.explain(rt.audit.events({ type: 'decision', effect: 'allow' }).at(-1).decision_id).text)
rt.close()
