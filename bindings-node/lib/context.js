'use strict'
// The identity a guarded call acts as, carried by AsyncLocalStorage: it follows `await`,
// promises, timers and event emitters bound with AsyncResource, and never crosses between
// concurrent requests (each `actingAs` runs its function in its own store).
const { AsyncLocalStorage } = require('node:async_hooks')

const storage = new AsyncLocalStorage()
let defaultRuntime = null

/**
 * Runs `fn` acting as `cred` (a Credential or a token string). `options.runtime` defaults to
 * the credential's own; `options.context` (e.g. `{ txn: runId }`) goes to every check.
 * Nested calls restore the outer identity when they return.
 */
function actingAs(cred, fn, options = {}) {
  if (cred === null || cred === undefined || (typeof cred !== 'string' && typeof cred.token !== 'string')) {
    throw new TypeError('actingAs needs a Credential or a token string')
  }
  if (typeof fn !== 'function') throw new TypeError('actingAs(cred, fn): fn must be a function')
  const identity = Object.freeze({ credential: cred, runtime: options.runtime || null, context: options.context || null })
  return storage.run(identity, fn)
}

/** The identity in effect here, or null. */
function currentIdentity() {
  return storage.getStore() || null
}

/** The runtime guarded calls use when neither `guard` nor `actingAs` names one. */
function setDefaultRuntime(runtime) {
  defaultRuntime = runtime || null
}

function getDefaultRuntime() {
  return defaultRuntime
}

module.exports = { actingAs, currentIdentity, setDefaultRuntime, getDefaultRuntime }
