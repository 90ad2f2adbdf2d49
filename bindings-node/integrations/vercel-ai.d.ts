// Types of `runtime-identity/integrations/vercel-ai` (the Vercel AI SDK, `ai` 7).
// `ai` is an ES module only: one declaration, imported as such from this CommonJS-mode file.
import type { Tool, ToolApprovalResponse } from 'ai' with { 'resolution-mode': 'import' }
import type { Runtime } from '../index'

export interface GuardToolOptions<INPUT> {
  /** A template over the tool's input (`'customer/{customerId}'`, `'{a.b}'`), or a function of it. */
  resource?: string | ((input: INPUT) => string)
  /** The runtime (default: the gate's, then the identity's, the credential's, the default runtime). */
  runtime?: Runtime
  /** `'message'` (default): a refusal is the tool's output, `denied (<code>): <message>`; `'throw'`: DeniedError / ApprovalRequiredError. */
  onDeny?: 'message' | 'throw'
}

/** A pending call: the SDK's `tool-approval-request` part, or its tool call id. */
export type ApprovalRequestLike = string | { approvalId?: string; toolCall: { toolCallId: string } } | { approvalId?: string; toolCallId: string }

/** What a person is asked to approve. */
export interface PendingApproval {
  /** The runtime's approval request id. */
  id: string
  reason: string
  expiresAt: number
  action: string
  resource: string | undefined
  args: Record<string, unknown>
  actor: string | null
  onBehalfOf: string | null
}

/** Guards tools and approves their pending calls (one per runtime or per app; safe to share between runs). */
export declare class ToolGate {
  constructor(options?: { runtime?: Runtime; maxAgeMs?: number })
  readonly runtime: Runtime | null
  /** `tool` with `execute` checked as `action` and `needsApproval` asking the runtime. */
  guardTool<INPUT, OUTPUT, CONTEXT>(
    tool: Tool<INPUT, OUTPUT, CONTEXT>,
    action: string,
    options?: GuardToolOptions<INPUT>,
  ): Tool<INPUT, OUTPUT | string, CONTEXT>
  /** A generic `toolApproval` for `generateText` / `streamText` / `ToolLoopAgent`: `user-approval` with the policy's reason for this gate's tools. */
  toolApproval(options: {
    toolCall: { toolName: string; toolCallId: string; input: unknown }
    tools?: Record<string, unknown>
    toolsContext?: Record<string, unknown>
  }): Promise<undefined | { type: 'user-approval'; reason: string }>
  /** What the pending call asks; throws ApprovalError when it is not pending here. */
  pending(request: ApprovalRequestLike): PendingApproval
  /** `approver` (a `user:` principal) approves: recorded by the runtime, which issues the call's receipt. */
  approve(request: ApprovalRequestLike, approver: string): ToolApprovalResponse
  /** `approver` denies; the model reads `reason` (default `denied by <approver>`). */
  deny(request: ApprovalRequestLike, approver: string, reason?: string): ToolApprovalResponse
}

/** The gate of the functions below. */
export declare const defaultGate: ToolGate
/** `defaultGate.guardTool`. */
export declare function guardTool<INPUT, OUTPUT, CONTEXT>(
  tool: Tool<INPUT, OUTPUT, CONTEXT>,
  action: string,
  options?: GuardToolOptions<INPUT>,
): Tool<INPUT, OUTPUT | string, CONTEXT>
/** `defaultGate.approve`. */
export declare function approve(request: ApprovalRequestLike, approver: string): ToolApprovalResponse
/** `defaultGate.deny`. */
export declare function deny(request: ApprovalRequestLike, approver: string, reason?: string): ToolApprovalResponse
