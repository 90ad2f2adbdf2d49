'use strict'
// What the integrations share: the identity and runtime of a call, the resource of a call,
// the text a model reads when a call is refused, and recording what an allowed call did.
const { performance } = require('node:perf_hooks')
const { fillTemplate, record } = require('../lib/guard')
const { currentIdentity, getDefaultRuntime } = require('../lib/context')
const { runtimeOf } = require('../lib/runtime')
const { NoIdentityContextError, DeniedError, ApprovalRequiredError } = require('../lib/errors')

const isCredential = (c) => typeof c === 'string' || (c !== null && typeof c === 'object' && typeof c.token === 'string')
const tokenOf = (c) => (typeof c === 'string' ? c : c.token)

/**
 * The identity in effect (`actingAs`), else a `credential` carried by a framework's context
 * object (the AI SDK's tool context, LangChain's `config.context`). Never a silent allow.
 */
function identityFrom(context) {
  const ident = currentIdentity()
  if (ident) return ident
  const cred = context !== null && typeof context === 'object' ? context.credential : undefined
  if (isCredential(cred)) return { credential: cred, runtime: null, context: null }
  throw new NoIdentityContextError(
    'a guarded tool ran with no identity: run the agent inside actingAs(cred, fn) or pass a `credential` in the tool context',
  )
}

function runtimeFor(ident, runtime) {
  const rt = runtime || ident.runtime || runtimeOf(ident.credential) || getDefaultRuntime()
  if (!rt) throw new NoIdentityContextError('no runtime to check the tool call with: pass { runtime }')
  return rt
}

/** `spec` as a template over the input object (`customer/{customerId}`, `{a.b}`), or a function of it. */
function resourceOf(spec, input) {
  if (spec === undefined || spec === null) return undefined
  if (typeof spec === 'function') return spec(input)
  return fillTemplate(spec, input)
}

/** The arguments checked against the grant's constraints: the input object (a bare value as `{ input }`). */
const argsOf = (input) => (input !== null && typeof input === 'object' && !Array.isArray(input) ? input : input === undefined ? {} : { input })

/** What the model reads when a call is refused: the code and the reason, nothing secret. */
function refusal(d) {
  if (d.effect === 'require_approval') return `needs approval (${d.code}): ${d.message}`
  return `denied (${d.code}): ${d.message}`
}

/** The error `onDeny: 'throw'` throws for a refused decision. */
const refusalError = (d) => (d.effect === 'require_approval' ? new ApprovalRequiredError(d) : new DeniedError(d))

/**
 * Runs `fn()` for the allowed decision `d` and records its outcome: when its promise settles,
 * or, for an async iterable (streamed results), when the stream ends, fails or is stopped.
 * `failed(result)` tells whether a returned value is an error result (default: never).
 */
function runRecorded(rt, d, fn, failed = () => false) {
  const start = performance.now()
  let out
  try {
    out = fn()
  } catch (e) {
    record(rt, d, start, e)
    throw e
  }
  if (out && typeof out.then === 'function') {
    return out.then(
      (v) => { record(rt, d, start, failed(v) ? { name: 'ToolError' } : null); return v },
      (e) => { record(rt, d, start, e); throw e },
    )
  }
  if (out && typeof out[Symbol.asyncIterator] === 'function' && typeof out.next === 'function') return streamed(out, rt, d, start)
  record(rt, d, start, failed(out) ? { name: 'ToolError' } : null)
  return out
}

async function* streamed(inner, rt, d, start) {
  let done = false
  try {
    yield* inner
    done = true
    record(rt, d, start, null)
  } catch (e) {
    done = true
    record(rt, d, start, e)
    throw e
  } finally {
    if (!done) record(rt, d, start, { name: 'Cancelled' })
  }
}

module.exports = { identityFrom, runtimeFor, resourceOf, argsOf, refusal, refusalError, runRecorded, isCredential, tokenOf }
