'use strict'
// MCP (`@modelcontextprotocol/sdk` 1.x) with the real package: an McpServer whose tools are
// protected, called by a Client over the SDK's in-memory transport.
const test = require('node:test')
const assert = require('node:assert/strict')
const ri = require('..')
const { guard } = ri
const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js')
const { Client } = require('@modelcontextprotocol/sdk/client/index.js')
const { InMemoryTransport } = require('@modelcontextprotocol/sdk/inMemory.js')
const { z } = require('zod')
const { protect, credentialMeta } = require('../integrations/mcp')
const { scenario, HELPER } = require('./scenario')

/** A CRM server: `refund` guards itself, `read_customer` and `refund_plain` are checked by protect. */
function crmServer(rt, seen = []) {
  const server = new McpServer({ name: 'crm', version: '1.0.0' })
  const refundSchema = { customerId: z.string(), amount: z.number(), currency: z.string().default('USD') }
  server.registerTool(
    'refund',
    { description: 'Refund a customer', inputSchema: refundSchema },
    guard('payments.refund', ({ customerId, amount, currency }) => ({ content: [{ type: 'text', text: `refunded ${amount} ${currency} to ${customerId}` }] }), {
      resource: 'customer/{customerId}',
      // The handler is called as (args, extra): the checked arguments are the first's.
      args: (args) => args,
    }),
  )
  server.registerTool('read_customer', { description: 'Read a customer', inputSchema: { customerId: z.string() } }, async ({ customerId }) => {
    // Inside the handler, the caller's identity is in effect.
    seen.push(ri.currentIdentity() && ri.currentIdentity().credential)
    return { content: [{ type: 'text', text: `customer ${customerId}` }] }
  })
  server.registerTool('flaky', { inputSchema: { customerId: z.string() } }, async () => ({ content: [{ type: 'text', text: 'upstream failed' }], isError: true }))
  return protect(server, rt, {
    actions: { read_customer: 'crm.read', flaky: 'crm.read' },
    resources: { read_customer: 'customer/{customerId}', flaky: 'customer/{customerId}' },
  })
}

async function connected(server) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  const client = new Client({ name: 'agent', version: '1.0.0' })
  await Promise.all([server.connect(serverSide), client.connect(clientSide)])
  return client
}

const text = (r) => [Boolean(r.isError), r.content[0].text]

test("each call is checked with the caller's credential from _meta", async () => {
  const { rt, cred } = scenario()
  const seen = []
  const client = await connected(crmServer(rt, seen))
  const sub = cred.attenuate({ to: HELPER, scopes: [{ actions: ['crm.read'], resources: ['customer/42'] }] })
  const results = []
  for (const [name, args, as] of [
    ['refund', { customerId: '42', amount: 10 }, cred],
    ['refund', { customerId: '42', amount: 500 }, cred],
    ['read_customer', { customerId: '42' }, cred],
    ['read_customer', { customerId: '77' }, cred],
    ['read_customer', { customerId: '42' }, sub.token],
    ['refund', { customerId: '42', amount: 10 }, sub],
    ['refund', { customerId: '42', amount: 90 }, cred],
  ]) {
    results.push(text(await client.callTool({ name, arguments: args, _meta: credentialMeta(as) })))
  }
  assert.deepEqual(results, [
    [false, 'refunded 10 USD to 42'],
    [true, 'denied (constraint_violated): `amount` = 500 exceeds max 100'],
    [false, 'customer 42'],
    [true, 'denied (policy_forbid): forbidden by policy F01'],
    [false, 'customer 42'],
    [true, 'denied (action_not_granted): action `payments.refund` is not granted'],
    [true, 'needs approval (approval_required): approval needed: refunds over 80 need a second pair of eyes'],
  ])
  assert.deepEqual(seen, [cred.token, sub.token])
  const decisions = rt.audit.events({ type: 'decision' })
  assert.deepEqual(decisions.slice(4, 6).map((d) => d.actor), [HELPER, HELPER])
  assert.deepEqual(rt.audit.events({ type: 'outcome' }).map((e) => e.outcome.status), ['ok', 'ok', 'ok'])
  assert.equal(rt.audit.verify().ok, true)
  await client.close()
})

test('no credential, a forged one, and an error result from the tool', async () => {
  const { rt, cred } = scenario()
  const client = await connected(crmServer(rt))
  const bare = await client.callTool({ name: 'read_customer', arguments: { customerId: '42' } })
  const [isError, message] = text(bare)
  assert.equal(isError, true)
  assert.match(message, /^denied \(credential_invalid\): .* — the call carries no credential in _meta\["runtime-identity\/token"\]$/)
  const recorded = rt.audit.events({ type: 'decision' }).at(-1)
  assert.equal(recorded.reasons[0].code, 'credential_invalid') // recorded like any refusal
  const self = await client.callTool({ name: 'refund', arguments: { customerId: '42', amount: 1 } })
  assert.equal(self.isError, true)
  const token = cred.token
  const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA')
  const r = await client.callTool({ name: 'read_customer', arguments: { customerId: '42' }, _meta: credentialMeta(forged) })
  assert.equal(r.isError, true)
  assert.match(r.content[0].text, /^denied \(credential_invalid\): /)
  const flaky = await client.callTool({ name: 'flaky', arguments: { customerId: '42' }, _meta: credentialMeta(cred) })
  assert.deepEqual(text(flaky), [true, 'upstream failed'])
  assert.deepEqual(rt.audit.events({ type: 'outcome' }).map((e) => [e.outcome.status, e.outcome.error]), [['error', 'ToolError']])
  // Every call is a recorded decision, those without a credential too (the bare read and refund).
  assert.equal(rt.audit.events({ type: 'decision' }).length, 4)
  assert.throws(() => credentialMeta(undefined), TypeError)
  assert.throws(() => protect({}, rt), TypeError)
  await client.close()
})

test('tools registered after protect, and replaced callbacks, are checked too', async () => {
  const { rt, cred } = scenario()
  const server = protect(new McpServer({ name: 'late', version: '1.0.0' }), rt, { actions: (name) => `crm.${name}`, resources: { read: 'customer/{customerId}' } })
  const registered = server.registerTool('read', { inputSchema: { customerId: z.string() } }, async ({ customerId }) => ({ content: [{ type: 'text', text: `v1 ${customerId}` }] }))
  registered.update({ callback: async ({ customerId }) => ({ content: [{ type: 'text', text: `v2 ${customerId}` }] }) })
  const client = await connected(server)
  const meta = credentialMeta(cred)
  assert.deepEqual(text(await client.callTool({ name: 'read', arguments: { customerId: '42' }, _meta: meta })), [false, 'v2 42'])
  assert.deepEqual(text(await client.callTool({ name: 'read', arguments: { customerId: '77' }, _meta: meta })), [true, 'denied (policy_forbid): forbidden by policy F01'])
  assert.deepEqual(text(await client.callTool({ name: 'read', arguments: { customerId: '42' } })).slice(0, 1), [true])
  assert.deepEqual(rt.audit.events({ type: 'decision' }).map((d) => d.action), ['crm.read', 'crm.read', 'crm.read'])
  await client.close()
})

test('task-capable tools called without a task (the SDK polls them itself) are checked too', async () => {
  const { rt, cred } = scenario()
  const { InMemoryTaskStore } = require('@modelcontextprotocol/sdk/experimental/tasks/stores/in-memory.js')
  const taskStore = new InMemoryTaskStore()
  const server = new McpServer({ name: 'tasks', version: '1.0.0' }, { capabilities: { tasks: { requests: { tools: { call: {} } } } }, taskStore })
  server.experimental.tasks.registerToolTask('read', { inputSchema: { customerId: z.string() }, execution: { taskSupport: 'optional' } }, {
    createTask: async ({ customerId }, extra) => {
      const task = await extra.taskStore.createTask({ ttl: 60000, pollInterval: 5 })
      setTimeout(() => extra.taskStore.storeTaskResult(task.taskId, 'completed', { content: [{ type: 'text', text: `customer ${customerId}` }] }), 10)
      return { task }
    },
    getTask: async (_args, extra) => extra.taskStore.getTask(extra.taskId),
    getTaskResult: async (_args, extra) => extra.taskStore.getTaskResult(extra.taskId),
  })
  protect(server, rt, { actions: { read: 'crm.read' }, resources: { read: 'customer/{customerId}' } })
  const client = await connected(server)
  assert.deepEqual(text(await client.callTool({ name: 'read', arguments: { customerId: '42' }, _meta: credentialMeta(cred) })), [false, 'customer 42'])
  assert.deepEqual(text(await client.callTool({ name: 'read', arguments: { customerId: '77' }, _meta: credentialMeta(cred) })), [true, 'denied (policy_forbid): forbidden by policy F01'])
  assert.deepEqual(rt.audit.events({ type: 'outcome' }).map((e) => e.outcome.status), ['ok'])
  await client.close()
  taskStore.cleanup() // its expiry timers would keep the process alive
})
