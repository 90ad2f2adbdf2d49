// Types of the `runtime-identity` package. The native classes' types are generated into
// binding.d.ts (committed; `make test` fails when a rebuild changes them).
import type {
  Runtime as NativeRuntime,
  RuntimeOptions,
  Credential,
  Decision,
  Receipt,
  Audit,
  AgentOptions,
  AttenuateOptions,
  CheckRequest,
  DelegateOptions,
  EventQuery,
  OutcomeInput,
  RotateKeyOptions,
} from './binding'

export type {
  RuntimeOptions,
  Credential,
  Decision,
  Receipt,
  Audit,
  AgentOptions,
  AttenuateOptions,
  CheckRequest,
  DelegateOptions,
  EventQuery,
  OutcomeInput,
  RotateKeyOptions,
}

/** One trust domain: the authority, the registry, delegation, the check and the audit log. */
export type Runtime = NativeRuntime
export declare const Runtime: {
  /** Opens the runtime folder (default `$RUNTIME_IDENTITY_HOME`, else `./.runtime-identity`). */
  open(path?: string | null, options?: RuntimeOptions | null): Runtime
  /** A runtime whose state and audit log live in memory only. */
  inMemory(options?: RuntimeOptions | null): Runtime
  [Symbol.hasInstance](x: unknown): x is Runtime
}

/** Every error code of the core. */
export type ErrorCode =
  | 'token_malformed'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'signature_invalid'
  | 'algorithm_not_allowed'
  | 'unknown_key'
  | 'chain_broken'
  | 'seal_invalid'
  | 'scope_escalation'
  | 'depth_exceeded'
  | 'grant_revoked'
  | 'agent_suspended'
  | 'agent_revoked'
  | 'agent_unknown'
  | 'agent_exists'
  | 'principal_invalid'
  | 'input_too_large'
  | 'issuer_invalid'
  | 'audience_invalid'
  | 'scope_invalid'
  | 'ttl_invalid'
  | 'key_invalid'
  | 'invalid_argument'
  | 'policy_invalid'
  | 'approval_invalid'
  | 'approver_not_allowed'
  | 'outcome_invalid'
  | 'store_corrupt'
  | 'store_insecure'
  | 'store_unavailable'
  | 'audit_corrupt'
  | 'audit_unavailable'
  | 'internal_error'

/** Every reason code a Decision can carry. */
export type ReasonCode =
  | 'granted'
  | 'approved'
  | 'credential_invalid'
  | 'credential_expired'
  | 'grant_revoked'
  | 'agent_suspended'
  | 'agent_revoked'
  | 'agent_unknown'
  | 'action_not_granted'
  | 'resource_not_granted'
  | 'data_class_not_granted'
  | 'constraint_violated'
  | 'argument_missing'
  | 'policy_forbid'
  | 'no_permit'
  | 'limit_max_uses'
  | 'limit_rate'
  | 'limit_budget'
  | 'limit_pending_approvals'
  | 'approval_required'
  | 'approval_invalid'
  | 'proof_required'
  | 'proof_invalid'
  | 'request_invalid'
  | 'internal_error'

/** What audit verification found: `ok`, `events`, `checkpoints`, and where it broke. */
export interface AuditReport {
  ok: boolean
  events: number
  checkpoints: number
  lastSeq: number
  head: string
  storedCheckpoint?: number
  firstBadSeq?: number
  kind?: 'edited' | 'removed' | 'reordered' | 'inserted' | 'truncated' | 'bad_checkpoint_signature'
  message?: string
}

/**
 * Verifies an audit log file without a runtime, as a third party does: with the issuer, the
 * authority's JWKS and the newest checkpoint the operator's store reports (`anchor`; without
 * it a cut-off tail after the last checkpoint goes unnoticed).
 */
export declare function verifyAuditLog(
  path: string,
  options: { issuer: string; jwks: { keys: Record<string, unknown>[] }; anchor?: { seq: number; hash: string } | null },
): AuditReport

export declare const ERROR_CODES: readonly ErrorCode[]
export declare const REASON_CODES: readonly ReasonCode[]
export declare const EVENT_TYPES: readonly string[]
export declare const VERSION: string

/** The root of every error of this package: `code` is stable, `detail` explains. */
export declare class RuntimeIdentityError extends Error {
  readonly code: ErrorCode | ReasonCode | 'no_identity_context' | 'denied'
  readonly detail: string
}
export declare class InvalidCredentialError extends RuntimeIdentityError {}
export declare class DelegationError extends RuntimeIdentityError {}
export declare class AgentError extends RuntimeIdentityError {}
export declare class InvalidArgumentError extends RuntimeIdentityError {}
export declare class PolicyError extends RuntimeIdentityError {}
export declare class ApprovalError extends RuntimeIdentityError {}
export declare class StoreError extends RuntimeIdentityError {}
export declare class AuditError extends RuntimeIdentityError {}
export declare class InternalError extends RuntimeIdentityError {}
/** A guarded call was denied. */
export declare class DeniedError extends RuntimeIdentityError {
  readonly decision: Decision
}
/** A guarded call needs a person's approval first. */
export declare class ApprovalRequiredError extends RuntimeIdentityError {
  readonly decision: Decision
  readonly request: Decision['approvalRequest']
}
/** A guarded call ran with no identity. */
export declare class NoIdentityContextError extends RuntimeIdentityError {}

/** Who a guarded call acts as. */
export interface Identity {
  readonly credential: Credential | string
  readonly runtime: Runtime | null
  readonly context: Record<string, unknown> | null
}

/** Runs `fn` acting as `cred`; nested calls restore the outer identity. */
export declare function actingAs<T>(
  cred: Credential | string,
  fn: () => T,
  options?: { runtime?: Runtime; context?: Record<string, unknown> },
): T
/** The identity in effect here, or null. */
export declare function currentIdentity(): Identity | null
/** The runtime guarded calls use when neither `guard` nor `actingAs` names one. */
export declare function setDefaultRuntime(runtime: Runtime | null): void

/** A call waiting for a person, handed to `onApproval`. */
export declare class ApprovalRequest {
  readonly id: string
  readonly reason: string
  readonly expiresAt: number
  readonly actionHash: string
  readonly decision: Decision
  readonly action: string
  readonly resource: string
  readonly actor: string | null
  approve(approver: string, attributes?: Record<string, unknown>): Receipt
  deny(approver: string, attributes?: Record<string, unknown>): Record<string, unknown>
}

export interface GuardOptions<A extends unknown[]> {
  /** A template over the call's single object argument (`'customer/{customerId}'`), or a function of the arguments. */
  resource?: string | ((...args: A) => string)
  /** The arguments checked against constraints: names of the object argument, or a function. Default: the single object argument. */
  args?: readonly string[] | ((...args: A) => Record<string, unknown>)
  /** The runtime (default: the identity's, then the credential's, then the default runtime). */
  runtime?: Runtime
  /**
   * Values of members a call may leave out, as the tool's own defaults (`({ currency = 'USD' })`,
   * which the guard cannot see): a member missing or undefined is checked as its default, and
   * the tool receives it.
   */
  defaults?: Record<string, unknown>
  /** Called on `require_approval`: return a Receipt (or its token) to proceed, or null to refuse. */
  onApproval?: (request: ApprovalRequest) => Receipt | string | null | undefined | Promise<Receipt | string | null | undefined>
}

/** A guarded function: same parameters and result, plus `callAs(cred, ...args)`. */
export type Guarded<F extends (...args: any[]) => any> = F & {
  callAs(cred: Credential | string, ...args: Parameters<F>): ReturnType<F>
  readonly action: string
  readonly wrapped: F
}

/** Checks every call of `fn` as `action` before it runs and records the outcome after. */
export declare function guard<F extends (...args: any[]) => any>(
  action: string,
  fn: F,
  options?: GuardOptions<Parameters<F>>,
): Guarded<F>
