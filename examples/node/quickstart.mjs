// The story of runtime-identity from Node: an agent acts for a person, within a grant, under
// the organisation's policies, with a person approving what the policy says needs one — and
// every step is on a tamper-evident record. Run: `make demo` (or `node examples/node/quickstart.mjs`).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Runtime, guard, actingAs, DeniedError, ApprovalRequiredError, DelegationError } from '../../bindings-node/index.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const step = (title) => console.log(`\n== ${title}`)
const refundTool = ({ customerId, amount, currency }) => `refunded ${amount} ${currency} to customer ${customerId}`
const refund = guard('payments.refund', refundTool, { resource: 'customer/{customerId}' })

const home = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rid-quickstart-')), 'rt')
const rt = Runtime.open(home, { issuer: 'org:acme' })

step('alice registers her support agent and its helper; the org\'s policies are loaded')
rt.registerAgent('agent:acme/support-bot', { owner: 'user:alice@acme', org: 'acme' })
rt.registerAgent('agent:acme/refund-helper', { owner: 'user:alice@acme', org: 'acme' })
rt.upsertResource('customer/42', { dataClass: 'internal' })
rt.upsertResource('customer/77', { dataClass: 'pci' })
const n = rt.loadPolicies(fs.readFileSync(path.join(here, '..', 'policies', 'scenario.cedar'), 'utf8'))
console.log(`${n} Cedar policies: F01 forbids PCI data, A01 asks a person for refunds over 80`)

step('alice delegates a 15-minute grant: refunds up to 100 USD')
const cred = rt.delegate({
  to: 'agent:acme/support-bot',
  onBehalfOf: 'user:alice@acme',
  scopes: [{ actions: ['payments.refund'], resources: ['customer/*'], constraints: { amount: { max: 100 }, currency: { eq: 'USD' } } }],
  ttl: '15m',
  purpose: 'ticket 4711: refund a double charge',
})
console.log(`grant ${cred.grantId} for ${cred.actor}, expires ${new Date(cred.expiresAt * 1000).toISOString()}`)

const attempt = (label, fn) => {
  try {
    console.log(fn())
  } catch (e) {
    if (e instanceof DeniedError) console.log(`${label}: ${e.code}${e.decision.policies.length ? ` by ${e.decision.policies.join(', ')}` : ''}: ${e.decision.message}`)
    else if (e instanceof ApprovalRequiredError) console.log(`approval needed (${e.request.reason}); request ${e.request.id}`)
    else throw e
  }
}

actingAs(cred, () => {
  step('a refund of 30 USD: allowed')
  attempt('denied', () => refund({ customerId: '42', amount: 30, currency: 'USD' }))
  step("a refund of 500 USD: denied by the grant's constraint")
  attempt('denied', () => refund({ customerId: '42', amount: 500, currency: 'USD' }))
  step('a refund to a PCI customer: denied by policy F01')
  attempt('denied', () => refund({ customerId: '77', amount: 20, currency: 'USD' }))
  step('a refund of 90 USD needs a person: alice approves, it runs once')
  attempt('denied', () => refund({ customerId: '42', amount: 90, currency: 'USD' }))
  const approved = guard('payments.refund', refundTool, {
    resource: 'customer/{customerId}',
    onApproval: (request) => {
      console.log(`alice sees: ${request.action} on ${request.resource} by ${request.actor}: approves`)
      return request.approve('user:alice@acme')
    },
  })
  attempt('denied', () => approved({ customerId: '42', amount: 90, currency: 'USD' }))
}, { context: { txn: 'ticket-4711' } })

step('support-bot hands refund-helper a narrower grant; widening it is refused')
const sub = cred.attenuate({
  to: 'agent:acme/refund-helper',
  scopes: [{ actions: ['payments.refund'], resources: ['customer/42'], constraints: { amount: { max: 20 }, currency: { eq: 'USD' } } }],
})
console.log(`chain: ${sub.agents.join(' -> ')} on behalf of ${sub.onBehalfOf}`)
try {
  sub.attenuate({ to: 'agent:acme/support-bot', scopes: [{ actions: ['payments.*'], resources: ['customer/*'] }] })
} catch (e) {
  if (!(e instanceof DelegationError)) throw e
  console.log(`refused: ${e.code}`)
}
actingAs(sub, () => attempt('denied', () => refund({ customerId: '42', amount: 15, currency: 'USD' })))

step("alice suspends support-bot: the helper's next call is denied at once")
rt.suspendAgent('agent:acme/support-bot')
actingAs(sub, () => attempt('denied', () => refund({ customerId: '42', amount: 10, currency: 'USD' })))

step('the audit log: verify it, then explain the approved refund')
const report = rt.audit.verify()
console.log(`intact: ${report.ok} (${report.events} events)`)
const approvedCall = rt.audit.events({ type: 'decision', effect: 'allow', actor: 'agent:acme/support-bot' }).at(-1)
console.log(rt.audit.explain(approvedCall.decision_id).text)
rt.close()
