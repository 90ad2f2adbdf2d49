// The Node half of the cross-language interop run: what mint.mjs and decide.mjs share. It
// mirrors interop.py function by function: every result is written in one normalised JSON
// form, so that the two languages' results compare as plain JSON — the core's snake_case field
// names, errors as {type, code, message} with the class name without its `Error` suffix, and
// nothing that differs between two runs of the same request (decision ids, times, approval ids).
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Runtime, RuntimeIdentityError, VERSION } from '../../bindings-node/index.mjs'

export const FORMAT = 'runtime-identity-interop/1'
export const HERE = path.dirname(fileURLToPath(import.meta.url))
export const REPO = path.resolve(HERE, '..', '..')
export { Runtime }

// --- RFC 8785 (JCS): ECMAScript's JSON.stringify already writes numbers and strings as JCS does.

export function jcs(value) {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('NaN and infinities have no JSON form')
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map(jcs).join(',')}]`
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort() // UTF-16 code units, as RFC 8785 §3.2.3 asks
    return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(value[k])}`).join(',')}}`
  }
  throw new TypeError(`not JSON: ${value}`)
}

export const b64url = (buf) => Buffer.from(buf).toString('base64url')
export const b64urlDecode = (part) => Buffer.from(part, 'base64url')
const sha256 = (text) => crypto.createHash('sha256').update(text, 'utf8').digest()

/** docs/ARCHITECTURE.md § Approval: SHA-256 of the JCS form of {action, resource, args, actor, on_behalf_of, grant_id}.
 * A call without a resource is hashed with the resource `*` (the core's convention). */
export function jcsActionHash(request, verified) {
  const bound = {
    action: request.action,
    resource: request.resource || '*',
    args: request.args ?? {},
    actor: verified.actor,
    on_behalf_of: verified.on_behalf_of,
    grant_id: verified.grant_id,
  }
  return b64url(sha256(jcs(bound)))
}

/** The audit log's `args_digest`: SHA-256 (hex) of the JCS form of the arguments. */
export const argsDigest = (args) => sha256(jcs(args ?? {})).toString('hex')

// --- Normalised results

export function errorOf(e) {
  if (!(e instanceof RuntimeIdentityError)) throw e
  const name = e.constructor.name
  return { type: name.endsWith('Error') ? name.slice(0, -'Error'.length) : name, code: e.code, message: e.detail }
}

export function attempt(fn) {
  try {
    return { ok: true, value: fn() }
  } catch (e) {
    return { ok: false, error: errorOf(e) }
  }
}

const LINK_NAMES = { grantId: 'grant_id', issuedAt: 'issued_at', expiresAt: 'expires_at', maxDepth: 'max_depth' }

export function credentialFacts(cred) {
  return {
    grant_id: cred.grantId,
    actor: cred.actor,
    on_behalf_of: cred.onBehalfOf,
    agents: [...cred.agents],
    expires_at: cred.expiresAt,
    chain: cred.chain.map((link) => Object.fromEntries(Object.entries(link).map(([k, v]) => [LINK_NAMES[k] ?? k, v]))),
  }
}

export function verify(rt, token) {
  const r = attempt(() => credentialFacts(rt.verify(token)))
  return r.ok ? { ok: true, credential: r.value } : r
}

const DECISION_FIELDS = ['effect', 'allowed', 'reasons', 'actor', 'chain', 'on_behalf_of', 'grant_id', 'policies', 'action', 'resource']

export function decisionFacts(d) {
  const raw = d.toJSON()
  const out = Object.fromEntries(DECISION_FIELDS.map((k) => [k, raw[k] ?? null]))
  const req = raw.approval_request
  out.approval_request = req == null ? null : { action_hash: req.action_hash, reason: req.reason }
  out.approval_used = raw.approval_used ?? null
  return out
}

/** Runtimes on the same folder at fixed times, for the cases that name one (`at`). */
export class Clock {
  constructor(rt, folder, issuer) {
    Object.assign(this, { rt, folder, issuer, fixed: null })
  }
  at(when) {
    if (when == null) return this.rt
    if (this.fixed === null) this.fixed = Runtime.open(this.folder, { issuer: this.issuer, fixedTime: when })
    else this.fixed.setTime(when)
    return this.fixed
  }
  close() {
    if (this.fixed !== null) this.fixed.close()
  }
}

/** `{"from": "expires_at" | "issued_at", "offset": s}`: relative to the verified leaf link. */
export function whenOf(at, verified) {
  if (at == null) return null
  const leaf = verified.credential.chain.at(-1)
  return leaf[at.from] + at.offset
}

const opt = (v) => (v === null ? undefined : v)

/** The Node binding's action hash, where it has one (`Runtime.actionHash` is not in every build). */
function bindingActionHash(rt, token, req) {
  if (typeof rt.actionHash !== 'function') return { ok: false, unavailable: true }
  return attempt(() => rt.actionHash(token, { action: req.action, resource: opt(req.resource), args: opt(req.args) }))
}

/** One check of a case: the decision, its id (for the audit log) and the action hash. */
export function check(clock, token, c, verified) {
  const req = c.request
  const rt = clock.at(whenOf(c.at, verified))
  const binding = bindingActionHash(rt, token, req)
  const jcsHash = verified.ok ? jcsActionHash(req, verified.credential) : null
  const d = rt.check(token, { action: req.action, resource: opt(req.resource), args: opt(req.args), context: opt(req.context), approval: opt(c.approval) })
  const reqRaw = d.approvalRequest
  return {
    decision: decisionFacts(d),
    decision_id: d.decisionId,
    request_id: reqRaw == null ? null : reqRaw.id,
    action_hash: { binding, jcs: jcsHash },
  }
}

/** What must hold within one language: the binding's action hash, the approval request's and
 * the one computed here from the design's definition are one value. */
export function consistency(name, result) {
  const problems = []
  const ah = result.action_hash
  const d = result.decision
  if (ah.binding.ok && ah.jcs !== null && ah.binding.value !== ah.jcs) {
    problems.push(`${name}: actionHash() = ${ah.binding.value} but the JCS definition gives ${ah.jcs}`)
  }
  if (d.approval_request !== null && ah.jcs !== null && d.approval_request.action_hash !== ah.jcs) {
    problems.push(`${name}: approval_request.action_hash = ${d.approval_request.action_hash} but the JCS definition gives ${ah.jcs}`)
  }
  return problems
}

/** The first reason code of a decision, the error code of a failed attempt, or `ok`. */
export function firstCode(result) {
  if ('reasons' in result) return result.reasons[0].code
  return result.ok ? 'ok' : result.error.code
}

/** The plan's `expect` (a sanity check of the scenario itself, so that two languages cannot
 * agree on a scenario gone wrong, e.g. every call denied). */
export function expectation(c, result) {
  if (!('expect' in c) || firstCode(result) === c.expect) return []
  return [`${c.name}: expected ${c.expect}, got ${firstCode(result)}: ${JSON.stringify(result.reasons ?? result.error)}`]
}

// What every approval flow must show, in either language.
export const FLOW = {
  first: 'approval_required',
  approved: 'approved',
  reused: 'approval_invalid',
  second: 'approval_required',
  agent_approver: 'approver_not_allowed',
  deny: 'ok',
  approve_after_deny: 'approval_invalid',
  third: 'approval_required',
  other_call: 'approval_invalid',
  cross_other_call: 'approval_invalid',
  cross_approved: 'approved',
  cross_reused: 'approval_invalid',
}

export function flowExpectations(name, results) {
  const problems = []
  for (const [step, code] of Object.entries(FLOW)) {
    if (step in results) {
      const r = results[step]
      const got = firstCode('decision' in r ? r.decision : r)
      if (got !== code) problems.push(`${name} / ${step}: expected ${code}, got ${got}`)
    } else if (!step.startsWith('cross_')) {
      problems.push(`${name}: step ${step} missing`)
    }
  }
  return problems
}

export const agents = (rt, ids) => ids.map((id) => rt.getAgent(id))
export const policiesDir = (folder) => path.join(folder, 'policies')
export const loadJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'))
export const writeJson = (file, value) => fs.writeFileSync(file, `${JSON.stringify(value, null, 1)}\n`)
export const versionInfo = () => ({ language: 'node', runtime: process.versions.node, package: VERSION })

// --- Tampering (the minting side makes these tokens; the other side only reads them)

export function tamper(token, link, how) {
  // The last part is the seal, not a link: tampering keeps it (`drop_link` of the last link
  // leaves a prefix with the leaf's seal).
  const links = token.split('~')
  const [header, payload, signature] = links[link].split('.')
  if (how === 'claims_byte') {
    // One byte of the decoded claims changed (still valid JSON), signature kept.
    const raw = b64urlDecode(payload)
    const at = raw.indexOf('"sub":"') + '"sub":"'.length
    raw[at] = raw[at] === 0x55 ? 0x56 : 0x55
    links[link] = [header, b64url(raw), signature].join('.')
  } else if (how === 'signature_char') {
    const mid = signature.length >> 1
    links[link] = [header, payload, signature.slice(0, mid) + (signature[mid] === 'A' ? 'B' : 'A') + signature.slice(mid + 1)].join('.')
  } else if (how === 'drop_link') {
    links.splice(link, 1)
  } else if (how === 'swap_with_next') {
    ;[links[link], links[link + 1]] = [links[link + 1], links[link]]
  } else if (how === 'alg_none') {
    const h = JSON.parse(b64urlDecode(header).toString('utf8'))
    h.alg = 'none'
    links[link] = [b64url(Buffer.from(JSON.stringify(h))), payload, ''].join('.')
  } else if (how === 'strip_signature') {
    links[link] = [header, payload, ''].join('.')
  } else if (how === 'garbage') {
    return 'not-a-token'
  } else {
    throw new Error(`unknown tampering \`${how}\``)
  }
  return links.join('~')
}

// --- Masking what differs between two runs of the same flow (new grant ids, approval ids, times)

export function mask(value, names) {
  if (typeof value === 'string') {
    for (const [old, placeholder] of Object.entries(names)) value = value.split(old).join(placeholder)
    return value
  }
  if (Array.isArray(value)) return value.map((v) => mask(v, names))
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, names)]))
  return value
}

// --- Flows shared by both sides

const pick = (d, keys) => Object.fromEntries(keys.map((k) => [k, d[k] ?? null]))

/** require_approval → approve → allowed once → refused when reused; an agent may not approve;
 * a denied request cannot be approved; a receipt does not fit another call. Returns the results
 * with approval ids masked, and one approved, unconsumed receipt for the other language. With
 * `crossReceipt` (the other language's receipt), it is then used for another call, for its own
 * call, and again. */
export function approvalFlow(clock, token, c, verified, crossReceipt) {
  const rt = clock.rt
  const approver = c.approver
  const base = { request: c.request }
  const other = { request: { ...c.request, args: c.other_args } }
  const ids = {}
  const out = {}
  const run = (name, cc, approval = null) => (out[name] = check(clock, token, { ...cc, approval }, verified))
  const requestId = (name) => {
    const id = run(name, base).request_id
    if (id === null) throw new Error(`${c.name}: \`${name}\` did not ask for an approval`)
    ids[id] = '<approval id>'
    return id
  }

  const first = run('first', base)
  if (first.request_id === null) return { results: out, receipt: null }
  ids[first.request_id] = '<approval id>'
  const receipt = rt.approve(first.request_id, approver)
  out.receipt = pick(receipt.approval, ['action_hash', 'action', 'resource', 'args', 'actor', 'on_behalf_of', 'grant_id', 'status', 'decided_by', 'reason'])
  run('approved', base, receipt.token)
  run('reused', base, receipt.token)

  const second = requestId('second')
  out.agent_approver = attempt(() => rt.approve(second, verified.credential.actor).id)
  out.deny = attempt(() => pick(rt.denyApproval(second, approver), ['status', 'decided_by']))
  out.approve_after_deny = attempt(() => rt.approve(second, approver).id)

  const third = requestId('third')
  const fresh = rt.approve(third, approver)
  run('other_call', other, fresh.token)
  if (crossReceipt != null) {
    const crossId = JSON.parse(b64urlDecode(crossReceipt.split('.')[1]).toString('utf8')).jti
    ids[crossId] = '<approval id>' // the other language's third request
    run('cross_other_call', other, crossReceipt)
    run('cross_approved', base, crossReceipt)
    run('cross_reused', base, crossReceipt)
  }
  return { results: mask(out, ids), receipt: fresh.token }
}

/** Attenuates a credential received as a token, with the parent agent's key from the shared
 * folder, then verifies and checks the new credential. Returns the raw results (`token`,
 * `verify`, `checks`) and the masked outcome compared across languages. */
export function handoff(clock, parentToken, c) {
  const rt = clock.rt
  const made = attempt(() => rt.attenuate(parentToken, { to: c.to, scopes: c.scopes, ttl: opt(c.ttl), purpose: opt(c.purpose), maxDepth: opt(c.max_depth) }).token)
  if (!made.ok) return { outcome: made }
  const token = made.value
  const verified = verify(rt, token)
  const parent = verify(rt, parentToken)
  const checks = (c.checks ?? []).map((request) => check(clock, token, { request }, verified))
  const raw = { token, verify: verified, checks }
  if (!verified.ok) return { outcome: { ok: true, verify: verified }, raw }
  const cred = verified.credential
  const pcred = parent.credential
  const leaf = cred.chain.at(-1)
  const names = { [leaf.grant_id]: '<new grant>' }
  const facts = { ...cred }
  facts.expires_at = cred.expires_at <= pcred.expires_at ? '<= parent' : cred.expires_at
  const chain = cred.chain.map((link) => ({ ...link }))
  chain.at(-1).issued_at = '<now>'
  chain.at(-1).expires_at = facts.expires_at
  facts.chain_prefix_is_parent = diff(pcred.chain, chain.slice(0, -1)).length === 0
  facts.chain = chain.slice(-1)
  const outcome = {
    ok: true,
    verify: { ok: true, credential: mask(facts, names) },
    checks: checks.map((r) => mask(r.decision, names)),
  }
  return { outcome, raw }
}

// --- Comparing the other language's results with ours

/** The differences between two JSON values, as [path, a, b]. */
export function diff(a, b, at = '') {
  const out = []
  const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x)
  if (isObj(a) && isObj(b)) {
    for (const k of [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))]) {
      if (!(k in a) || !(k in b)) out.push([`${at}.${k}`, k in a ? a[k] : '<absent>', k in b ? b[k] : '<absent>'])
      else out.push(...diff(a[k], b[k], `${at}.${k}`))
    }
  } else if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push([`${at} (length ${a.length} vs ${b.length})`, a, b])
    else a.forEach((x, i) => out.push(...diff(x, b[i], `${at}[${i}]`)))
  } else if (a !== b) {
    out.push([at, a, b])
  }
  return out
}

/** Collects differences between the file's results (`theirs`) and ours, with paths. */
export class Comparison {
  constructor(theirs, ours) {
    Object.assign(this, { theirs, ours, diffs: [], notes: [], compared: 0 })
  }
  same(what, expected, got) {
    this.compared++
    const found = diff(expected, got)
    for (const [p, a, b] of found.slice(0, 20)) {
      this.diffs.push(`${what}: ${p || '(value)'}\n      ${(this.theirs + ':').padEnd(8)} ${JSON.stringify(a)}\n      ${(this.ours + ':').padEnd(8)} ${JSON.stringify(b)}`)
    }
    return found.length === 0
  }
  /** A check's decision and action hash (the JCS one always; the binding's where both have one). */
  checkResult(what, expected, got) {
    this.same(what, expected.decision, got.decision)
    this.same(`${what} (action hash, JCS)`, expected.action_hash.jcs, got.action_hash.jcs)
    const [a, b] = [expected.action_hash.binding, got.action_hash.binding]
    if (a.unavailable || b.unavailable) {
      const note = 'the Node binding has no Runtime.actionHash: its action hash is checked through approval_request.action_hash and the JCS definition only'
      if (!this.notes.includes(note)) this.notes.push(note)
    } else {
      this.same(`${what} (actionHash())`, a, b)
    }
  }
}

const AUDIT_VOLATILE = new Set(['seq', 'ts', 'decision_id', 'prev', 'hash', 'approval_id'])

/** The decision event of `decisionId`, without what differs between two runs of one call. */
export function auditEvent(rt, decisionId) {
  const events = rt.audit.events({ decisionId, type: 'decision' })
  if (events.length !== 1) return { error: `${events.length} decision events for ${decisionId}` }
  return Object.fromEntries(Object.entries(events[0]).filter(([k]) => !AUDIT_VOLATILE.has(k)))
}
