'use strict'
// Error classes. Every error this package throws is a RuntimeIdentityError with a stable
// `code`; errors from the core carry the core's code (ERROR_CODES) and are made by
// `fromNative`, the one conversion every native call goes through.

class RuntimeIdentityError extends Error {
  /** `message` undefined: the subclass defines `detail` (and so `message`) as a getter. */
  constructor(code, message, options) {
    super(message === undefined ? undefined : `${message} (${code})`, options)
    this.name = new.target.name
    this.code = code
    if (message !== undefined) this.detail = message
  }
}
class InvalidCredentialError extends RuntimeIdentityError {}
class DelegationError extends RuntimeIdentityError {}
class AgentError extends RuntimeIdentityError {}
class InvalidArgumentError extends RuntimeIdentityError {}
class PolicyError extends RuntimeIdentityError {}
class ApprovalError extends RuntimeIdentityError {}
class StoreError extends RuntimeIdentityError {}
class AuditError extends RuntimeIdentityError {}
class InternalError extends RuntimeIdentityError {}

/** A guarded call was denied: `decision` says why, `code` is its first reason code. */
class DeniedError extends RuntimeIdentityError {
  constructor(decision) {
    super(decision.code || 'denied', undefined)
    this.decision = decision
  }
  // Built when read: a denial caught and handled never reads it.
  get detail() {
    const d = this.decision
    return `${d.action} on ${d.resource} denied: ${d.message}`
  }
  get message() {
    return `${this.detail} (${this.code})`
  }
}

/** A guarded call needs a person's approval: `request` is the approval request. */
class ApprovalRequiredError extends RuntimeIdentityError {
  constructor(decision) {
    super('approval_required', `${decision.action} on ${decision.resource}: ${decision.message}`)
    this.decision = decision
    this.request = decision.approvalRequest
  }
}

/** A guarded call ran with no identity: never a silent allow. */
class NoIdentityContextError extends RuntimeIdentityError {
  constructor(message) {
    super('no_identity_context', message)
  }
}

/** The core's error codes as this package knows them (a test compares with the core's). */
const ERROR_CODES = Object.freeze([
  'token_malformed', 'token_expired', 'token_not_yet_valid', 'signature_invalid', 'algorithm_not_allowed',
  'unknown_key', 'chain_broken', 'seal_invalid', 'scope_escalation', 'depth_exceeded', 'grant_revoked', 'agent_suspended',
  'agent_revoked', 'agent_unknown', 'agent_exists', 'principal_invalid', 'input_too_large', 'issuer_invalid',
  'audience_invalid', 'scope_invalid', 'ttl_invalid', 'key_invalid', 'invalid_argument', 'policy_invalid',
  'approval_invalid', 'approver_not_allowed', 'outcome_invalid', 'store_corrupt', 'store_insecure', 'store_unavailable',
  'audit_corrupt', 'audit_unavailable', 'internal_error',
])

const CLASS_OF = {
  token_malformed: InvalidCredentialError,
  token_expired: InvalidCredentialError,
  token_not_yet_valid: InvalidCredentialError,
  signature_invalid: InvalidCredentialError,
  algorithm_not_allowed: InvalidCredentialError,
  unknown_key: InvalidCredentialError,
  chain_broken: InvalidCredentialError,
  seal_invalid: InvalidCredentialError,
  scope_escalation: DelegationError,
  depth_exceeded: DelegationError,
  grant_revoked: InvalidCredentialError,
  agent_suspended: InvalidCredentialError,
  agent_revoked: InvalidCredentialError,
  agent_unknown: AgentError,
  agent_exists: AgentError,
  principal_invalid: InvalidArgumentError,
  input_too_large: InvalidArgumentError,
  issuer_invalid: InvalidArgumentError,
  audience_invalid: InvalidCredentialError,
  scope_invalid: InvalidArgumentError,
  ttl_invalid: InvalidArgumentError,
  key_invalid: InvalidArgumentError,
  invalid_argument: InvalidArgumentError,
  policy_invalid: PolicyError,
  approval_invalid: ApprovalError,
  approver_not_allowed: ApprovalError,
  outcome_invalid: InvalidArgumentError,
  store_corrupt: StoreError,
  store_insecure: StoreError,
  store_unavailable: StoreError,
  audit_corrupt: AuditError,
  audit_unavailable: AuditError,
  internal_error: InternalError,
}

/** The error for a native failure: `[code] message` from the core, anything else as is. */
function fromNative(e) {
  if (e instanceof RuntimeIdentityError) return e
  const m = e instanceof Error ? /^\[([a-z_]+)\] ([\s\S]*)$/.exec(e.message) : null
  if (!m) return e
  const Class = CLASS_OF[m[1]] || InternalError
  return new Class(m[1], m[2], { cause: e })
}

module.exports = {
  ERROR_CODES,
  RuntimeIdentityError,
  InvalidCredentialError,
  DelegationError,
  AgentError,
  InvalidArgumentError,
  PolicyError,
  ApprovalError,
  StoreError,
  AuditError,
  InternalError,
  DeniedError,
  ApprovalRequiredError,
  NoIdentityContextError,
  fromNative,
}
