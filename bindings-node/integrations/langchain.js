'use strict'
/*
 * LangChain (`@langchain/core` 1.x): guard a tool made with `tool(fn, { name, schema })`
 * (or any StructuredTool).
 *
 *   const refund = guardTool(refundTool, 'payments.refund', { resource: 'customer/{customerId}' })
 *   await actingAs(cred, () => refund.invoke({ customerId: '42', amount: 50, currency: 'USD' }))
 *
 * Every call is checked, after the tool's schema has parsed the input, with `guard`: the tool
 * runs as the checked identity and its outcome is recorded. A refusal is what the agent reads:
 * `denied (<code>): <message>` as the tool's result, or, when the tool is invoked with a
 * ToolCall (as agents do), an error ToolMessage (`status: 'error'`) with that text;
 * `onDeny: 'throw'` throws DeniedError / ApprovalRequiredError instead. `require_approval`
 * calls `onApproval(request)` (return `request.approve('user:…')` to proceed), else it is
 * refused as "needs approval". The identity is the one in effect (`actingAs`) or a `credential`
 * in the run's context (`config.context.credential`); with neither, NoIdentityContextError.
 */
const { guard } = require('../lib/guard')
const { actingAs, currentIdentity } = require('../lib/context')
const { DeniedError, ApprovalRequiredError } = require('../lib/errors')
const { identityFrom, argsOf, refusal } = require('./_common')

/** `tool` (unchanged) copied with every call checked as `action`. */
function guardTool(tool, action, options = {}) {
  if (!tool || typeof tool._call !== 'function' || typeof tool.invoke !== 'function') {
    throw new TypeError('guardTool needs a LangChain tool (tool(fn, {...}) or a StructuredTool)')
  }
  const { resource, runtime, onDeny = 'message', onApproval } = options
  const inner = tool._call
  // `_call(input, runManager, config)` is where every path (invoke, call, agents) runs the
  // tool with the parsed input: checked there as `action` over that input.
  const checked = guard(action, function (input, runManager, config) { return inner.call(this, input, runManager, config) }, {
    resource: typeof resource === 'function' ? (input) => resource(input) : resource,
    args: (input) => argsOf(input),
    runtime,
    onApproval,
  })
  // A copy with the same prototype and fields, so any tool class keeps its behaviour.
  const guarded = Object.assign(Object.create(Object.getPrototypeOf(tool)), tool)
  guarded._call = async function (input, runManager, config) {
    const call = () => checked.call(this, input, runManager, config)
    try {
      // No identity in effect: the one in the run's context, if any (else guard refuses).
      if (currentIdentity()) return await call()
      const ident = identityFrom(config && config.context)
      return await actingAs(ident.credential, call, { runtime })
    } catch (e) {
      if (onDeny === 'throw' || !(e instanceof DeniedError || e instanceof ApprovalRequiredError)) throw e
      return refused(e.decision, config, this.name)
    }
  }
  return guarded
}

/** The refusal as the tool's result: an error ToolMessage for a ToolCall, else the text. */
function refused(d, config, name) {
  const id = config && config.toolCall && config.toolCall.id
  if (!id) return refusal(d)
  const { ToolMessage } = require('@langchain/core/messages')
  return new ToolMessage({ content: refusal(d), tool_call_id: id, name, status: 'error' })
}

module.exports = { guardTool }
