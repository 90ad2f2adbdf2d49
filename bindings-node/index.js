'use strict'
// runtime-identity for Node: identity, scoped delegation, runtime checks and tamper-evident
// audit for AI agents. Every rule is in the Rust core; this package converts and wraps.
const { native, Runtime, verifyAuditLog } = require('./lib/runtime')
const errors = require('./lib/errors')
const { actingAs, currentIdentity, setDefaultRuntime } = require('./lib/context')
const { guard, ApprovalRequest } = require('./lib/guard')

/** Every reason code a Decision can carry (read from the core at load). */
const REASON_CODES = Object.freeze(native.reasonCodes())

module.exports = {
  Runtime,
  Credential: native.Credential,
  Decision: native.Decision,
  Receipt: native.Receipt,
  Audit: native.Audit,
  guard,
  actingAs,
  currentIdentity,
  setDefaultRuntime,
  ApprovalRequest,
  verifyAuditLog,
  ERROR_CODES: errors.ERROR_CODES,
  REASON_CODES,
  EVENT_TYPES: Object.freeze(native.eventTypes()),
  VERSION: native.version(),
  RuntimeIdentityError: errors.RuntimeIdentityError,
  InvalidCredentialError: errors.InvalidCredentialError,
  DelegationError: errors.DelegationError,
  AgentError: errors.AgentError,
  InvalidArgumentError: errors.InvalidArgumentError,
  PolicyError: errors.PolicyError,
  ApprovalError: errors.ApprovalError,
  StoreError: errors.StoreError,
  AuditError: errors.AuditError,
  InternalError: errors.InternalError,
  DeniedError: errors.DeniedError,
  ApprovalRequiredError: errors.ApprovalRequiredError,
  NoIdentityContextError: errors.NoIdentityContextError,
}
