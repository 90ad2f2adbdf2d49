'use strict'
// The identity context: nested, Promise.all of 1,000 interleaved calls, an HTTP server on
// localhost serving 200 interleaved requests each under its own identity, timers and event
// emitters bound with AsyncResource, and a missing context.
const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const { EventEmitter } = require('node:events')
const { AsyncResource } = require('node:async_hooks')
const ri = require('..')
const { guard, actingAs, currentIdentity } = ri
const { scenario, ALICE } = require('./scenario')

function workers(rt, n) {
  const creds = []
  for (let i = 0; i < n; i++) {
    const agent = `agent:acme/worker-${i}`
    rt.registerAgent(agent, { owner: ALICE })
    creds.push(rt.delegate({ to: agent, onBehalfOf: ALICE, scopes: [{ actions: ['crm.read'], resources: [`customer/${i}`] }] }))
  }
  return creds
}

// eslint-disable-next-line no-unused-vars -- the guard reads the tool's parameter names
const whoami = guard('crm.read', ({ cid }) => currentIdentity().credential.actor, { resource: 'customer/{cid}' })
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

test('nested identities restore the outer one', () => {
  const { rt } = scenario()
  const [outer, inner] = workers(rt, 2)
  assert.equal(currentIdentity(), null)
  actingAs(outer, () => {
    assert.equal(whoami({ cid: '0' }), 'agent:acme/worker-0')
    actingAs(inner, () => assert.equal(whoami({ cid: '1' }), 'agent:acme/worker-1'))
    assert.equal(whoami({ cid: '0' }), 'agent:acme/worker-0')
  })
  assert.equal(currentIdentity(), null)
  assert.throws(() => whoami({ cid: '0' }), ri.NoIdentityContextError)
})

test('Promise.all of 1,000 interleaved calls never cross', async () => {
  const { rt } = scenario()
  const creds = workers(rt, 20)
  // eslint-disable-next-line no-unused-vars -- the guard reads the tool's parameter names
  const read = guard('crm.read', async ({ cid }) => { await sleep(Math.random() * 2); return currentIdentity().credential.actor }, { resource: 'customer/{cid}' })
  const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => {
    const k = i % creds.length
    return actingAs(creds[k], async () => {
      await sleep(Math.random() * 2)
      const [a, b] = await Promise.all([read({ cid: String(k) }), read({ cid: String(k) })])
      assert.equal(a, b)
      return [k, a]
    })
  }))
  for (const [k, actor] of results) assert.equal(actor, `agent:acme/worker-${k}`)
  assert.equal(rt.audit.events({ type: 'decision', effect: 'allow' }).length, 2000)
})

test('an HTTP server on localhost: 200 interleaved requests, each under its own identity', async () => {
  const { rt } = scenario()
  const creds = workers(rt, 10)
  // The identity is the token as received: who it names is the verified credential's actor.
  // eslint-disable-next-line no-unused-vars -- the guard reads the tool's parameter names
  const read = guard('crm.read', async ({ cid }) => { await sleep(Math.random() * 3); return rt.verify(currentIdentity().credential).actor }, { resource: 'customer/{cid}' })
  const server = http.createServer((req, res) => {
    // Each request acts as the credential it presents (here: the index of a worker).
    const k = Number(new URL(req.url, 'http://x').searchParams.get('k'))
    actingAs(creds[k].token, async () => {
      await sleep(Math.random() * 3)
      try {
        const actor = await read({ cid: String(k) })
        res.end(JSON.stringify({ k, actor }))
      } catch (e) {
        res.statusCode = 403
        res.end(JSON.stringify({ k, error: e.code }))
      }
    }, { runtime: rt })
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address()
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 })
  const get = (k) => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: `/?k=${k}`, agent }, (res) => {
      let body = ''
      res.on('data', (c) => { body += c })
      res.on('end', () => resolve(JSON.parse(body)))
    }).on('error', reject)
  })
  try {
    const got = await Promise.all(Array.from({ length: 200 }, (_, i) => get(i % 10)))
    for (const { k, actor, error } of got) {
      assert.equal(error, undefined)
      assert.equal(actor, `agent:acme/worker-${k}`)
    }
  } finally {
    agent.destroy()
    await new Promise((r) => server.close(r))
  }
})

test('timers and event emitters bound with AsyncResource keep the identity', async () => {
  const { rt } = scenario()
  const [a, b] = workers(rt, 2)
  const emitter = new EventEmitter()
  const seen = []
  actingAs(a, () => {
    emitter.on('go', AsyncResource.bind(() => seen.push(whoami({ cid: '0' }))))
  })
  await actingAs(b, async () => {
    await new Promise((r) => setTimeout(() => { seen.push(whoami({ cid: '1' })); r() }, 1))
    emitter.emit('go')
  })
  assert.deepEqual(seen, ['agent:acme/worker-1', 'agent:acme/worker-0'])
})

test('actingAs refuses junk', () => {
  assert.throws(() => actingAs(null, () => 1), TypeError)
  assert.throws(() => actingAs('token', null), TypeError)
})
