'use strict'
// The shared scenario in an in-memory runtime (like bindings-python/tests/conftest.py).
const fs = require('node:fs')
const path = require('node:path')
const { Runtime } = require('..')

const ALICE = 'user:alice@acme'
const BOT = 'agent:acme/support-bot'
const HELPER = 'agent:acme/refund-helper'
const POLICIES = path.join(__dirname, '..', '..', 'examples', 'policies', 'scenario.cedar')

function scenario(options = {}) {
  const rt = options.path ? Runtime.open(options.path, { issuer: 'org:acme', ...options }) : Runtime.inMemory({ issuer: 'org:acme', ...options })
  for (const [name, owner, cleared] of [['support-bot', 'alice', false], ['billing-bot', 'bob', true], ['sales-bot', 'frank', false]]) {
    rt.registerAgent(`agent:acme/${name}`, { owner: `user:${owner}@acme`, org: 'acme', attributes: cleared ? { pci_cleared: true } : {} })
  }
  rt.registerAgent(HELPER, { owner: ALICE, org: 'acme' })
  for (const [id, dataClass] of [['customer/42', 'internal'], ['customer/77', 'pci'], ['invoice/9', 'internal'], ['kb/faq', 'public']]) {
    rt.upsertResource(id, { dataClass })
  }
  rt.loadPolicies(fs.readFileSync(POLICIES, 'utf8'))
  const cred = rt.delegate({
    to: BOT,
    onBehalfOf: ALICE,
    scopes: [
      { actions: ['crm.read'], resources: ['customer/*'] },
      { actions: ['payments.refund'], resources: ['customer/*'], constraints: { amount: { max: 100 }, currency: { eq: 'USD' } } },
    ],
    ttl: '1h',
    purpose: 'support ticket 4711',
  })
  return { rt, cred }
}

module.exports = { scenario, ALICE, BOT, HELPER }
