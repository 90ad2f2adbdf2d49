'use strict'
// The native classes with every method's errors converted to this package's error classes,
// and each credential remembering the runtime that made it.
const native = require('../binding.js')
const { fromNative } = require('./errors')
const { argsText } = require('./json')
const { snapshotArgs } = require('./snapshot')

const runtimes = new WeakMap()

/** The Runtime that made or verified a credential, if any. */
function runtimeOf(cred) {
  return cred !== null && typeof cred === 'object' ? runtimes.get(cred) || null : null
}

function converting(fn) {
  return function (...args) {
    try {
      return fn.apply(this, args)
    } catch (e) {
      throw fromNative(e)
    }
  }
}

function wrapMethods(Class, names, after) {
  for (const name of names) {
    const original = Class.prototype[name]
    if (typeof original !== 'function') throw new Error(`native ${Class.name}.${name} is missing`)
    const wrapped = converting(original)
    const value = after ? function (...args) { return after(this, wrapped.apply(this, args)) } : wrapped
    Object.defineProperty(Class.prototype, name, { value, writable: false, configurable: true })
  }
}

const remember = (rt, out) => {
  if (out instanceof native.Credential) runtimes.set(out, rt)
  return out
}

wrapMethods(native.Runtime, ['delegate', 'attenuate', 'verify'], remember)
wrapMethods(native.Runtime, [
  'setTime', 'registerAgent', 'getAgent', 'listAgents', 'suspendAgent', 'resumeAgent', 'revokeAgent', 'rotateAgentKey',
  'revoke', 'loadPolicies', 'upsertResource', 'actionHash', 'recordOutcome', 'approve', 'denyApproval', 'getApproval', 'jwks',
  'authorityKeys', 'rotateAuthorityKey', 'importAuthorityKey', 'close',
])
wrapMethods(native.Credential, ['attenuate'], (cred, out) => {
  const rt = runtimes.get(cred)
  if (rt) runtimes.set(out, rt)
  return out
})
wrapMethods(native.Audit, ['verify', 'explain', 'events', 'exportProv', 'flush'])
// `check`: the arguments cross as one JSON text: plain JSON-like ones as they are (see
// json.js), others converted by snapshot.js (a Date as its ISO string, a safe BigInt as its
// number) or refused with `invalid_argument` naming them — never converted silently.
const P = native.Runtime.prototype
const { check: checkValue, _checkJson: checkJson, _guardCheck: guardCheckJson, _recordOutcome: recordFields } = P
const optionalString = (v) => v === undefined || v === null || typeof v === 'string'

/** `req`'s arguments as JSON text, when the request can take the text path; else null. */
function textOf(req) {
  if (typeof req.action !== 'string' || !optionalString(req.resource)) return null
  if (!optionalString(req.approval) || !optionalString(req.proof)) return null
  if (req.args === undefined || req.args === null) return undefined
  const text = argsText(req.args)
  return text !== null ? text : snapshotArgs(req.args)
}

Object.defineProperty(P, 'check', {
  value: function check(cred, req) {
    try {
      let text = req !== null && typeof req === 'object' ? textOf(req) : null
      if (text !== null && typeof text === 'object') {
        // Read by snapshot.js: its JSON, or its copy as a value.
        if (text.text === null) return checkValue.call(this, cred, { ...req, args: text.copy })
        text = text.text
      }
      if (text === null) return checkValue.call(this, cred, req)
      return checkJson.call(this, cred, req.action, req.resource, text, req.context, req.approval, req.proof)
    } catch (e) {
      throw fromNative(e)
    }
  },
  writable: false,
  configurable: true,
})

/**
 * The guard's check of arguments already read once (`snapshot.js`): `text` is their JSON. The
 * decision id when the call may run, else the Decision; with `approval`, always the Decision.
 */
function checkText(rt, cred, action, resource, text, context, approval, copy) {
  try {
    if (text === null) {
      // An integer JSON text would change: the copy crosses as a value.
      const d = checkValue.call(rt, cred, { action, resource, args: copy, context, approval })
      return approval === undefined && d.allowed ? d.decisionId : d
    }
    if (approval === undefined) return guardCheckJson.call(rt, cred, action, resource, text, context)
    return checkJson.call(rt, cred, action, resource, text, context, approval, undefined)
  } catch (e) {
    throw fromNative(e)
  }
}

/** The guard's `recordOutcome`. */
function recordOutcome(rt, decisionId, ok, error, durationMs) {
  try {
    recordFields.call(rt, decisionId, ok, error, durationMs)
  } catch (e) {
    throw fromNative(e)
  }
}

// The static factories are read-only on the native class, so the exported `Runtime` is a
// small class of its own: its factories convert errors too, and `instanceof Runtime` holds
// for every runtime they make (instance methods are the native class's, wrapped above).
const open = converting(native.Runtime.open.bind(native.Runtime))
const inMemory = converting(native.Runtime.inMemory.bind(native.Runtime))
class Runtime {
  constructor() {
    throw new TypeError('use Runtime.open(path, options) or Runtime.inMemory(options)')
  }
  static open(path, options) {
    return open(path, options)
  }
  static inMemory(options) {
    return inMemory(options)
  }
  static [Symbol.hasInstance](x) {
    return x instanceof native.Runtime
  }
}

/** Verifies an audit log file without a runtime (a third party's check). */
const verifyAuditLog = converting(native.verifyAuditLog)

module.exports = { native, Runtime, runtimeOf, verifyAuditLog, checkText, recordOutcome }
