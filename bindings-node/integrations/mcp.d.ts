// Types of `runtime-identity/integrations/mcp` (`@modelcontextprotocol/sdk` 1.x).
import type { Credential, Runtime } from '../index'

/** The `_meta` key that carries the calling agent's delegation token. */
export declare const TOKEN_META_KEY: 'runtime-identity/token'

/** The `_meta` of a tool call made as `cred`: `client.callTool({ name, arguments, _meta: credentialMeta(cred) })`. */
export declare function credentialMeta(cred: Credential | string): { 'runtime-identity/token': string }

export interface ProtectOptions {
  /** The action of each tool (default: its name), or a function of the name. */
  actions?: Record<string, string> | ((toolName: string) => string)
  /** The resource of each tool: a template over its arguments (`'customer/{customerId}'`) or a function of them. */
  resources?: Record<string, string | ((args: any) => string)>
}

/**
 * An McpServer (`@modelcontextprotocol/sdk/server/mcp.js`). Structural: one declaration serves
 * CommonJS and ES module consumers, which see the SDK's two builds as different types.
 */
export interface McpServerLike {
  registerTool(...args: any[]): unknown
  connect(transport: any): Promise<void>
}

/** Makes every tool call of `server` checked with the caller's credential; returns `server`. */
export declare function protect<S extends McpServerLike>(server: S, runtime: Runtime, options?: ProtectOptions): S
