// A typed use of the package: `tsc --noEmit --strict` must pass on it (run by `make test`).
import {
  Runtime,
  guard,
  actingAs,
  DeniedError,
  ApprovalRequiredError,
  RuntimeIdentityError,
  type Credential,
  type Decision,
  type ErrorCode,
  type Guarded,
} from 'runtime-identity'

interface RefundInput {
  customerId: string
  amount: number
  currency?: string
}

const rt: Runtime = Runtime.inMemory({ issuer: 'org:acme' })
rt.registerAgent('agent:acme/bot', { owner: 'user:alice@acme' })
const cred: Credential = rt.delegate({
  to: 'agent:acme/bot',
  onBehalfOf: 'user:alice@acme',
  scopes: [{ actions: ['payments.refund'], resources: ['customer/*'], constraints: { amount: { max: 100 } } }],
  ttl: '15m',
})

// The guarded function keeps its parameter and return types.
const refund: Guarded<(input: RefundInput) => string> = guard(
  'payments.refund',
  (input: RefundInput): string => `refunded ${input.amount} ${input.currency ?? 'USD'}`,
  { resource: 'customer/{customerId}', args: (input) => ({ amount: input.amount }) },
)
const lookup = guard('payments.refund', async (id: string): Promise<{ id: string }> => ({ id }), {
  resource: (id) => `customer/${id}`,
})

const text: string = actingAs(cred, () => refund({ customerId: '42', amount: 10 }))
const later: Promise<{ id: string }> = lookup.callAs(cred, '42')

try {
  actingAs(cred, () => refund({ customerId: '42', amount: 1000 }))
} catch (e) {
  if (e instanceof DeniedError) {
    const d: Decision = e.decision
    const code: string = e.code
    console.log(d.effect, code)
  } else if (e instanceof ApprovalRequiredError) {
    console.log(e.request?.id)
  } else if (e instanceof RuntimeIdentityError) {
    const code: ErrorCode | string = e.code
    console.log(code)
  }
}

const decision: Decision = rt.check(cred, { action: 'payments.refund', resource: 'customer/42', args: { amount: 5 } })
const ok: boolean = decision.allowed
const report = rt.audit.verify()
const intact: boolean = report.ok
void later.then((r) => console.log(text, ok, intact, r.id))
