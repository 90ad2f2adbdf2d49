'use strict'
/*
 * Vercel AI SDK (written against `ai` 7): guard a `tool({ inputSchema, execute })`, with
 * `require_approval` as the SDK's tool approval.
 *
 *   const refund = guardTool(refundTool, 'payments.refund', { resource: 'customer/{customerId}' })
 *   const r1 = await actingAs(cred, () => generateText({ model, tools: { refund }, messages }))
 *   for (const part of r1.content) {                       // calls that need a person
 *     if (part.type === 'tool-approval-request') approvals.push(approve(part, 'user:alice@acme'))
 *   }
 *   messages.push(...r1.responseMessages, { role: 'tool', content: approvals })
 *   const r2 = await actingAs(cred, () => generateText({ model, tools: { refund }, messages }))
 *
 * Each tool call is checked once, when the SDK asks the tool's `needsApproval` (or the gate's
 * `toolApproval`, for `generateText({ toolApproval })`); the decision is remembered by tool
 * call id, and `execute` runs only if it allows the call — or, after `approve(part, approver)`,
 * with the single-use receipt the runtime issued to that person for exactly that call. An
 * approval given only through the SDK (a `tool-approval-response` not made by `approve`) is
 * not one: the tool answers "needs approval". Refusals are what the model reads as the tool's
 * output (`onDeny: 'throw'` throws DeniedError / ApprovalRequiredError instead, which the SDK
 * reports as a tool error). The identity is the one in effect (`actingAs`) or a `credential`
 * in the tool's context (`toolsContext: { refund: { credential } }`); with neither, the tool
 * throws NoIdentityContextError.
 */
const { actingAs } = require('../lib/context')
const { ApprovalError } = require('../lib/errors')
const { identityFrom, runtimeFor, resourceOf, argsOf, refusal, refusalError, runRecorded, tokenOf } = require('./_common')

const GUARDED = Symbol('runtime-identity.guarded')

/** Stable text of a JSON value (sorted keys): the same call compares equal after a round trip. */
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`
  }
  return JSON.stringify(v) ?? 'null'
}

/**
 * Guards tools and approves their pending calls. A gate remembers each checked call by its
 * tool call id until the tool runs, is denied, or `maxAgeMs` passes; it can be shared by
 * concurrent runs (a remembered decision is used only for the same input and credential).
 */
class ToolGate {
  constructor({ runtime, maxAgeMs = 60 * 60 * 1000 } = {}) {
    this.runtime = runtime || null
    this.maxAgeMs = maxAgeMs
    this._calls = new Map() // toolCallId → { spec, key, decision, ident, rt, resource, args, receipt, at }
    this.toolApproval = this.toolApproval.bind(this)
  }

  _remember(toolCallId, entry) {
    entry.at = Date.now()
    // Oldest first (insertion order): drop what has expired, stop at the first that has not.
    for (const [id, e] of this._calls) {
      if (entry.at - e.at <= this.maxAgeMs) break
      this._calls.delete(id)
    }
    this._calls.delete(toolCallId)
    this._calls.set(toolCallId, entry)
  }

  /** The remembered check of this call (same tool, input and credential), else a new check. */
  _decide(spec, input, toolCallId, context) {
    const ident = identityFrom(context)
    const key = `${tokenOf(ident.credential)}\n${canonical(input)}`
    const known = toolCallId === undefined ? undefined : this._calls.get(toolCallId)
    if (known && known.spec === spec && known.key === key && Date.now() - known.at <= this.maxAgeMs) return known
    const rt = runtimeFor(ident, spec.runtime || this.runtime)
    const resource = resourceOf(spec.resource, input)
    const args = argsOf(input)
    const decision = rt.check(ident.credential, { action: spec.action, resource, args, context: ident.context || undefined })
    const entry = { spec, key, decision, ident, rt, resource, args, receipt: null, at: 0 }
    if (toolCallId !== undefined) this._remember(toolCallId, entry)
    return entry
  }

  /** `tool` with `execute` checked as `action`; `resource` is a template over the input or a function of it. */
  guardTool(tool, action, options = {}) {
    if (!tool || typeof tool.execute !== 'function') throw new TypeError('guardTool needs an AI SDK tool with an execute function')
    if (typeof action !== 'string') throw new TypeError("guardTool(tool, action): action is a dotted name such as 'payments.refund'")
    const { resource, runtime, onDeny = 'message' } = options
    const spec = { action, resource, runtime }
    const { execute, needsApproval: own } = tool
    const gate = this
    const guarded = {
      ...tool,
      async needsApproval(input, o = {}) {
        const e = gate._decide(spec, input, o.toolCallId, o.context)
        if (e.decision.effect === 'require_approval' && !e.receipt) return true
        // The tool's own rule still applies (a person asked by the SDK alone, as before).
        return typeof own === 'function' ? own.call(this, input, o) : own === true
      },
      execute(input, o = {}) {
        const e = gate._decide(spec, input, o.toolCallId, o.context)
        gate._calls.delete(o.toolCallId) // a checked call runs at most once
        let d = e.decision
        if (d.effect === 'require_approval' && e.receipt) {
          d = e.rt.check(e.ident.credential, { action, resource: e.resource, args: e.args, context: e.ident.context || undefined, approval: e.receipt.token })
        }
        if (!d.allowed) {
          if (onDeny === 'throw') throw refusalError(d)
          return refusal(d)
        }
        // The tool runs as the checked identity, so guarded functions it calls check as it.
        const run = () => actingAs(e.ident.credential, () => execute.call(this, input, o), { runtime: e.rt, context: e.ident.context || undefined })
        return runRecorded(e.rt, d, run)
      },
    }
    Object.defineProperty(guarded, GUARDED, { value: { gate, spec } })
    return guarded
  }

  /**
   * For `generateText({ toolApproval: gate.toolApproval })` (which takes precedence over the
   * tools' `needsApproval`): asks a person for this gate's tools when the runtime says so, with
   * the policy's reason on the approval request; other tools are left to the SDK.
   */
  async toolApproval({ toolCall, tools, toolsContext }) {
    const tool = tools && Object.prototype.hasOwnProperty.call(tools, toolCall.toolName) ? tools[toolCall.toolName] : undefined
    const g = tool && tool[GUARDED]
    if (!g || g.gate !== this) return undefined
    const e = this._decide(g.spec, toolCall.input, toolCall.toolCallId, toolsContext && toolsContext[toolCall.toolName])
    if (e.decision.effect !== 'require_approval' || e.receipt) return undefined
    return { type: 'user-approval', reason: e.decision.approvalRequest.reason }
  }

  _pending(request) {
    const id = typeof request === 'string' ? request : request && request.toolCall ? request.toolCall.toolCallId : request && request.toolCallId
    const e = this._calls.get(id)
    if (!e || e.decision.effect !== 'require_approval' || e.receipt) {
      throw new ApprovalError('approval_invalid', `tool call ${JSON.stringify(id)} is not waiting for an approval from this gate`)
    }
    return { id, e }
  }

  /** What a person is asked to approve (`request`: a `tool-approval-request` part, or a tool call id). */
  pending(request) {
    const { e } = this._pending(request)
    const r = e.decision.approvalRequest
    return { id: r.id, reason: r.reason, expiresAt: r.expiresAt, action: e.spec.action, resource: e.resource, args: e.args, actor: e.decision.actor, onBehalfOf: e.decision.onBehalfOf }
  }

  /**
   * `approver` (a `user:` principal) approves the pending call: the runtime records it and
   * issues the receipt that lets exactly this call run once. Returns the
   * `tool-approval-response` part to add to the next `generateText`'s messages.
   */
  approve(request, approver) {
    const { id, e } = this._pending(request)
    e.receipt = e.rt.approve(e.decision.approvalRequest.id, approver)
    this._remember(id, e) // the receipt is fresh: keep the call from now on
    return { type: 'tool-approval-response', approvalId: request && request.approvalId, approved: true }
  }

  /** `approver` denies the pending call; the model reads `reason`. */
  deny(request, approver, reason) {
    const { id, e } = this._pending(request)
    e.rt.denyApproval(e.decision.approvalRequest.id, approver)
    this._calls.delete(id)
    return { type: 'tool-approval-response', approvalId: request && request.approvalId, approved: false, reason: reason || `denied by ${approver}` }
  }
}

/** The gate of `guardTool`, `approve` and `deny` (use `new ToolGate()` for one of your own). */
const defaultGate = new ToolGate()

module.exports = {
  ToolGate,
  defaultGate,
  guardTool: (tool, action, options) => defaultGate.guardTool(tool, action, options),
  approve: (request, approver) => defaultGate.approve(request, approver),
  deny: (request, approver, reason) => defaultGate.deny(request, approver, reason),
}
