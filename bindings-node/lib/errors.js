'use strict'
// Error classes. Every error this package throws is a RuntimeIdentityError with a stable
// `code`; errors from the core carry the core's code (ERROR_CODES) as `code` and are made by
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

// The class of each core error code: the core names it (`ErrorCode::class_name`, without the
// `Error` suffix); this module only holds the classes.
const native = require('../binding.js')

/** The core's error codes (read from the core at load). */
const ERROR_CODES = Object.freeze(native.errorCodes())

const CLASSES = Object.fromEntries(
  [InvalidCredentialError, DelegationError, AgentError, InvalidArgumentError, PolicyError, ApprovalError, StoreError,
    AuditError, InternalError].map((C) => [C.name.replace(/Error$/, ''), C]),
)
const CLASS_OF = Object.fromEntries(
  Object.entries(native.errorClasses()).map(([code, name]) => [code, CLASSES[name] || InternalError]),
)

/**
 * The error for a native failure: the core's errors carry its code as `code` (set by the
 * addon), and become the class of that code with the native error as `cause`; anything else
 * (a napi argument error) is thrown as is.
 */
function fromNative(e) {
  if (e instanceof RuntimeIdentityError || !(e instanceof Error)) return e
  const Class = Object.hasOwn(CLASS_OF, e.code) ? CLASS_OF[e.code] : null
  return Class ? new Class(e.code, e.message, { cause: e }) : e
}

module.exports = {
  ERROR_CODES,
  CLASSES,
  CLASS_OF,
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
