'use strict'
// `guard(action, fn, options)`: check every call before it runs, record what it did after.
//
// The tool receives what was checked: the first argument (the tool's input object) is read
// once into a fresh copy (snapshot.js) — so a getter or a Proxy cannot answer the check with
// one value and the tool with another — the check holds that copy's JSON, the resource
// template is filled from it, and the tool is called with it. A value a check cannot hold is
// refused with an InvalidArgumentError naming it, never left out.
const { performance } = require('node:perf_hooks')
const { currentIdentity, actingAs, getDefaultRuntime } = require('./context')
const { DeniedError, ApprovalRequiredError, NoIdentityContextError, InvalidArgumentError, RuntimeIdentityError } = require('./errors')
const { runtimeOf, checkText, recordOutcome } = require('./runtime')
const { snapshotArgs, snapshotValue } = require('./snapshot')

const isObject = (v) => v !== null && typeof v === 'object'
const isThenable = (v) => v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function'

const compiled = new Map()

/** A template split once into literal text and `{a.b}` paths (templates are few and reused). */
function compile(template) {
  let parts = compiled.get(template)
  if (parts) return parts
  parts = []
  let last = 0
  for (const m of template.matchAll(/\{([^{}]+)\}/g)) {
    parts.push(template.slice(last, m.index), m[1].split('.'))
    last = m.index + m[0].length
  }
  parts.push(template.slice(last))
  if (compiled.size < 1024) compiled.set(template, parts)
  return parts
}

/** Fills `{name}` / `{a.b}` from an object (the call's object argument, a tool's input). */
function fillTemplate(template, source) {
  const parts = compile(template)
  let out = parts[0]
  for (let i = 1; i < parts.length; i += 2) {
    let v = source
    for (const key of parts[i]) v = v === null || v === undefined ? undefined : v[key]
    if (v === undefined || v === null) {
      throw new TypeError(`resource template "${template}": the call's argument has no "${parts[i].join('.')}"`)
    }
    out += String(v) + parts[i + 1]
  }
  return out
}

/** A call waiting for a person, handed to `onApproval`. */
class ApprovalRequest {
  constructor(decision, runtime) {
    const r = decision.approvalRequest || {}
    this.id = r.id
    this.reason = r.reason
    this.expiresAt = r.expiresAt
    this.actionHash = r.actionHash
    this.decision = decision
    Object.defineProperty(this, 'runtime', { value: runtime, enumerable: false })
  }
  get action() { return this.decision.action }
  get resource() { return this.decision.resource }
  get actor() { return this.decision.actor }
  /** Approves as `approver` (a `user:` principal, with the attributes approval rules read); returns the single-use receipt. */
  approve(approver, attributes) { return this.runtime.approve(this.id, approver, attributes) }
  /** Denies as `approver`. */
  deny(approver, attributes) { return this.runtime.denyApproval(this.id, approver, attributes) }
}

/** Records the outcome of decision `d` (a Decision, or the id of an allowed one). */
function record(rt, d, start, error) {
  const id = typeof d === 'string' ? d : d.decisionId
  try {
    recordOutcome(rt, id, !error, error ? String((error && error.name) || 'Error') : undefined, performance.now() - start)
  } catch (e) {
    // The tool's result or error is what the caller gets; a failure to record is a warning.
    process.emitWarning(`the outcome of decision ${id} was not recorded: ${e && e.message}`, 'RuntimeIdentityWarning')
  }
}

function guard(action, fn, options = {}) {
  if (typeof action !== 'string') throw new TypeError("guard(action, fn): action is a dotted name such as 'payments.refund'")
  if (typeof fn !== 'function') throw new TypeError('guard(action, fn): fn must be a function')
  const { resource, args, runtime, onApproval } = options
  // A tool's own defaults (`({ currency = 'USD' }) => …`) are invisible to the guard: given
  // here, a member the call leaves out (or passes as undefined) is checked, and the tool
  // receives it, as the default — as Python's guard reads a parameter's default.
  const defaults = options.defaults === undefined || options.defaults === null ? null : snapshotArgs(options.defaults, 'defaults').copy

  function identity() {
    const ident = currentIdentity()
    if (!ident) {
      throw new NoIdentityContextError(
        `${fn.name || 'a function'} is guarded (${action}) but runs with no identity: call it inside actingAs(cred, fn) or use .callAs(cred, ...args)`,
      )
    }
    const rt = runtime || ident.runtime || runtimeOf(ident.credential) || getDefaultRuntime()
    if (!rt) throw new NoIdentityContextError(`no runtime to check ${action}: pass { runtime } to guard or actingAs, or call setDefaultRuntime`)
    return { ident, rt }
  }

  // The members of the input a template names (`{customer.id}`: customer).
  const roots = typeof resource === 'string' ? [...new Set(compile(resource).filter((_, i) => i % 2 === 1).map((p) => p[0]))] : []
  const names = Array.isArray(args) ? args : null

  /** The call's input with the defaults in place of the members it leaves out. */
  function withDefaults(input) {
    if (input === undefined || input === null) return snapshotArgs(defaults).copy
    if (!isObject(input)) return input
    const own = snapshotArgs.members(input)
    const copies = snapshotArgs(defaults).copy // each call its own copy of the defaults
    for (const k of Object.keys(copies)) if (own[k] === undefined) own[k] = copies[k]
    return own
  }

  /** The resource, the checked arguments' JSON, and the call the tool receives. */
  function request(callArgs) {
    if (defaults !== null) callArgs = [withDefaults(callArgs[0]), ...callArgs.slice(1)]
    let input = callArgs[0]
    let text
    let checked
    let call = callArgs
    // With `args` a function the input need not be an object (a LangChain tool's string): the
    // template members are read once when it is one.
    const reads = typeof args !== 'function' || (roots.length > 0 && isObject(input))
    if (reads) {
      if (input !== undefined && input !== null) {
        if (args === undefined) {
          const s = snapshotArgs(input)
          input = s.copy
          text = s.text
          checked = s.copy
        } else {
          // Named members checked, template members read once, the others copied as read.
          const own = snapshotArgs.members(input)
          if (names) {
            const picked = {}
            for (const k of names) if (Object.hasOwn(own, k)) picked[k] = own[k]
            const s = snapshotArgs(picked)
            text = s.text
            checked = s.copy
            Object.assign(own, s.copy)
          }
          for (const r of roots) {
            if (!Object.hasOwn(own, r) || (names && names.includes(r))) continue
            try {
              own[r] = snapshotValue(own[r], r)
            } catch (e) {
              if (!(e instanceof InvalidArgumentError)) throw e // not a value a check holds: used as read
            }
          }
          input = own
        }
        call = callArgs.length === 1 ? [input] : [input, ...callArgs.slice(1)]
      } else if (typeof args !== 'function') {
        text = '{}'
      }
    }
    if (typeof args === 'function') {
      const result = args(...callArgs)
      const s = result === undefined || result === null ? null : snapshotArgs(result)
      text = s ? s.text : undefined
      checked = s ? s.copy : undefined
    }
    let res
    if (typeof resource === 'string') res = fillTemplate(resource, input)
    else if (typeof resource === 'function') res = resource(...callArgs)
    return { resource: res, text, checked, call }
  }

  function afterApproval(d, rt, ident, req, receipt) {
    if (!receipt) throw new ApprovalRequiredError(d)
    const again = checkText(rt, ident.credential, action, req.resource, req.text, ident.context || undefined, typeof receipt === 'string' ? receipt : receipt.token, req.checked)
    if (!again.allowed) throw new DeniedError(again)
    return again
  }

  /** The id of the decision that lets the call run (or a promise of the approved decision). */
  function decide(rt, ident, req) {
    const d = checkText(rt, ident.credential, action, req.resource, req.text, ident.context || undefined, undefined, req.checked)
    // The id of an allowed decision, or the decision that did not allow.
    if (typeof d === 'string') return d
    if (d.effect !== 'require_approval') throw new DeniedError(d)
    if (!onApproval) throw new ApprovalRequiredError(d)
    const answer = onApproval(new ApprovalRequest(d, rt))
    if (isThenable(answer)) return answer.then((r) => afterApproval(d, rt, ident, req, r))
    return afterApproval(d, rt, ident, req, answer)
  }

  function run(self, callArgs, d, rt) {
    const start = performance.now()
    let out
    try {
      out = fn.apply(self, callArgs)
    } catch (e) {
      record(rt, d, start, e)
      throw e
    }
    if (isThenable(out)) {
      return out.then(
        (v) => { record(rt, d, start, null); return v },
        (e) => { record(rt, d, start, e); throw e },
      )
    }
    if (out && typeof out[Symbol.asyncIterator] === 'function' && typeof out.next === 'function') {
      return stream(out, rt, d, start)
    }
    record(rt, d, start, null)
    return out
  }

  const guarded = function (...callArgs) {
    const { ident, rt } = identity()
    const req = request(callArgs)
    const d = decide(rt, ident, req)
    // The tool is called with the copy that was checked.
    if (isThenable(d)) return d.then((allowed) => run(this, req.call, allowed, rt))
    return run(this, req.call, d, rt)
  }
  Object.defineProperty(guarded, 'name', { value: fn.name })
  Object.defineProperty(guarded, 'length', { value: fn.length })
  guarded.callAs = (cred, ...callArgs) => actingAs(cred, () => guarded(...callArgs), { runtime })
  guarded.action = action
  guarded.wrapped = fn
  return guarded
}

/** Yields the tool's items; the outcome is recorded when it ends, fails or is stopped early. */
async function* stream(inner, rt, d, start) {
  let finished = false
  try {
    yield* inner
    finished = true
    record(rt, d, start, null)
  } catch (e) {
    finished = true
    record(rt, d, start, e)
    throw e
  } finally {
    if (!finished) record(rt, d, start, { name: 'Cancelled' })
  }
}

module.exports = { guard, ApprovalRequest, RuntimeIdentityError, fillTemplate, record }
