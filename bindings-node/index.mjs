// ES module entry: the same objects as the CommonJS one.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const m = require('./index.js')

export const {
  Runtime, Credential, Decision, Receipt, Audit, guard, actingAs, currentIdentity, setDefaultRuntime, ApprovalRequest,
  verifyAuditLog,
  ERROR_CODES, REASON_CODES, EVENT_TYPES, VERSION, RuntimeIdentityError, InvalidCredentialError, DelegationError,
  AgentError, InvalidArgumentError, PolicyError, ApprovalError, StoreError, AuditError, InternalError, DeniedError,
  ApprovalRequiredError, NoIdentityContextError,
} = m
export default m
