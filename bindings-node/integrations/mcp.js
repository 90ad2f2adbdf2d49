'use strict'
/*
 * MCP (`@modelcontextprotocol/sdk` 1.x `McpServer`): check every tool call with the
 * credential of the agent that makes it.
 *
 * Server:
 *   protect(server, rt, { actions: { refund: 'payments.refund' }, resources: { refund: 'customer/{customerId}' } })
 * Client:
 *   await client.callTool({ name: 'refund', arguments: {...}, _meta: credentialMeta(cred) })
 *
 * The agent sends its delegation token in the call's `_meta` (`runtime-identity/token`); over
 * HTTP with MCP auth, the bearer token (`extra.authInfo.token`) is used when `_meta` has none.
 * Each call runs inside `actingAs(token, fn, { runtime })`: a handler made with `guard` checks
 * itself (with its own action and resource); any other is checked here as
 * `actions[name] ?? name` over the arguments the tool's schema parsed. A call without a
 * credential, or refused, is a tool error (`isError: true`) whose text is
 * `denied (<code>): <message>` / `needs approval (<code>): <message>`. Outcomes are recorded;
 * a handler's own `isError` result counts as a failure.
 */
const { actingAs } = require('../lib/context')
const { DeniedError, ApprovalRequiredError } = require('../lib/errors')
const { resourceOf, argsOf, refusal, runRecorded, isCredential, tokenOf } = require('./_common')

/** The `_meta` key that carries the calling agent's delegation token. */
const TOKEN_META_KEY = 'runtime-identity/token'

/** The `_meta` of a tool call made as `cred` (a Credential or a token). */
function credentialMeta(cred) {
  if (!isCredential(cred)) throw new TypeError('credentialMeta needs a Credential or a token string')
  return { [TOKEN_META_KEY]: tokenOf(cred) }
}

const toolError = (text) => ({ content: [{ type: 'text', text }], isError: true })

function tokenOfCall(extra) {
  const meta = extra && extra._meta
  if (meta && typeof meta[TOKEN_META_KEY] === 'string') return meta[TOKEN_META_KEY]
  const auth = extra && extra.authInfo
  return auth && typeof auth.token === 'string' ? auth.token : null
}

/** Makes every tool call of `server` (an McpServer) checked with the caller's credential. */
function protect(server, runtime, options = {}) {
  // McpServer runs every tool through these two methods (TypeScript-private, the same in every
  // 1.x with tasks). Patching them, not the handlers, also covers tools registered or replaced
  // later. Refuse to leave the server unguarded if a version renames them.
  const execute = server && server.executeToolHandler
  const polling = server && server.handleAutomaticTaskPolling
  const known = ['_registeredTools', 'validateToolInput'].every((k) => server && server[k])
  if (typeof execute !== 'function' || typeof polling !== 'function' || !known) {
    throw new TypeError('protect needs an McpServer from @modelcontextprotocol/sdk 1.x (server/mcp.js)')
  }
  if (!runtime || typeof runtime.check !== 'function') throw new TypeError('protect(server, runtime): runtime is a Runtime')
  const { actions, resources = {} } = options
  const actionOf = (name) => (typeof actions === 'function' ? actions(name) : (actions && actions[name]) || name)
  const nameOf = (tool) => Object.keys(server._registeredTools).find((n) => server._registeredTools[n] === tool)

  async function checked(tool, args, extra, run) {
    const token = tokenOfCall(extra)
    const handler = tool.handler
    const selfGuarded = typeof handler === 'function' && typeof handler.action === 'string' && typeof handler.callAs === 'function'
    if (token === null) {
      // Decided (and recorded) by the core like any other refusal.
      const name = nameOf(tool)
      const action = selfGuarded ? handler.action : actionOf(name)
      const d = runtime.check('', { action, resource: resourceOf(resources[name], args), args: argsOf(args) })
      return toolError(`${refusal(d)} — the call carries no credential in _meta["${TOKEN_META_KEY}"]`)
    }
    if (selfGuarded) {
      // Made with guard: it checks itself (and records its outcome) inside the caller's identity.
      try {
        return await actingAs(token, run, { runtime })
      } catch (e) {
        if (e instanceof DeniedError || e instanceof ApprovalRequiredError) return toolError(refusal(e.decision))
        throw e
      }
    }
    const name = nameOf(tool)
    const d = runtime.check(token, { action: actionOf(name), resource: resourceOf(resources[name], args), args: argsOf(args) })
    if (!d.allowed) return toolError(refusal(d))
    return runRecorded(runtime, d, () => actingAs(token, run, { runtime }), (r) => Boolean(r && r.isError))
  }

  // The normal path: `args` are the arguments after the tool's input schema (undefined without one).
  server.executeToolHandler = function (tool, args, extra) {
    return checked(tool, args, extra, () => execute.call(this, tool, args, extra))
  }
  // Task-capable tools called without a task: the SDK calls the handler itself, so check here.
  server.handleAutomaticTaskPolling = async function (tool, request, extra) {
    const args = await this.validateToolInput(tool, request.params.arguments, request.params.name)
    return checked(tool, args, extra, () => polling.call(this, tool, request, extra))
  }
  return server
}

module.exports = { TOKEN_META_KEY, credentialMeta, protect }
