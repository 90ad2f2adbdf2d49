'use strict'
// The timing harness shared by every Node path (the peers' and ours), as PEERS.md describes:
// a path is verified on all 10 scenario requests before it is timed; a request is timed after a
// warm-up, with N calibrated so one repetition of N calls takes about `targetMs`, for `reps`
// repetitions (values are ns per call, GC left to V8); the timed closure is re-checked after.
const fs = require('node:fs')
const path = require('node:path')

/**
 * @typedef {{ amount?: number, currency?: string }} RequestContext
 * @typedef {object} Request One scenario request.
 * @property {string} id
 * @property {boolean} timed
 * @property {string} agent
 * @property {string} action
 * @property {string} resource
 * @property {RequestContext} context
 * @property {number} [now] This request's own clock (otherwise the scenario's `now`).
 * @property {boolean} expect
 *
 * @typedef {object} Agent
 * @property {string} owner
 * @property {string} org
 * @property {string[]} attrs
 * @property {{ delegator: string, expires_at: number }} [delegation]
 *
 * @typedef {object} Rule
 * @property {string} id
 * @property {'allow' | 'deny'} effect
 * @property {string} agent `*` for any agent.
 * @property {string} action `*` for any action.
 * @property {string} prefix Resource-path prefix (`''` for any resource).
 * @property {string} cond A named condition (`''` for none).
 * @property {string} text
 *
 * @typedef {object} Scenario
 * @property {number} now
 * @property {number} delegation_expires_at
 * @property {Record<string, Agent>} agents
 * @property {string[]} users
 * @property {Record<string, { data_class: string }>} resources
 * @property {Rule[]} rules
 * @property {Request[]} requests
 *
 * @typedef {() => unknown} Call A zero-argument closure around one pre-built request; may return a promise.
 *
 * @typedef {object} Timing Nanoseconds per call over the repetitions, and calls per repetition.
 * @property {number} medianNs
 * @property {number} minNs
 * @property {number} maxNs
 * @property {number} n
 *
 * @typedef {object} TimingOptions
 * @property {number} [warmupMs]
 * @property {number} [targetMs]
 * @property {number} [reps]
 */

/**
 * One library's way to decide. `S` is whatever `prepare` builds once.
 * @template S
 * @typedef {object} Path
 * @property {string} name
 * @property {string} library
 * @property {(scenario: Scenario) => S | Promise<S>} prepare
 * @property {(state: S, req: Request) => boolean | Promise<boolean>} decide The decision, outside timing.
 * @property {(state: S, req: Request) => Call} call The timed closure (the request already in the library's input form).
 * @property {(out: unknown) => boolean} [answer] The decision a timed call's result stands for (default: the boolean itself).
 * @property {boolean} [verifyOnly] Cannot make the scenario's decisions (a bare credential check): answers reported, not required.
 * @property {string[]} [packages] npm packages whose versions are reported.
 * @property {string} [note]
 */

/** A path answered a request differently from its `expect`: it is never timed. */
class VerificationError extends Error {}

/**
 * @typedef {object} Verification
 * @property {string} name
 * @property {number} checked
 * @property {string[]} disagreements Ids answered against `expect` (non-empty only for a verify-only path).
 * @property {boolean} verifyOnly
 * @property {string} summary
 */

/**
 * Run every request through `path.decide(state, req)`; throws a `VerificationError` listing every
 * answer that differs from `expect`, unless the path is `verifyOnly` (then they are only recorded).
 * @template S
 * @param {Path<S>} p
 * @param {S} state
 * @param {Request[]} requests
 * @returns {Promise<Verification>}
 */
async function verify(p, state, requests) {
  /** @type {Request[]} */
  const wrong = []
  for (const req of requests) {
    const got = await p.decide(state, req)
    if (typeof got !== 'boolean') throw new VerificationError(`${p.name}: ${req.id}: decide returned ${String(got)}, not a boolean`)
    if (got !== req.expect) wrong.push(req)
  }
  if (wrong.length && !p.verifyOnly) {
    throw new VerificationError(`${p.library}: ${p.name}: wrong answers: ${wrong.map((r) => `${r.id} (expected ${r.expect})`).join('; ')}`)
  }
  const ids = wrong.map((r) => r.id)
  const summary = p.verifyOnly
    ? `${p.library}: ${p.name}: verify-only, correctness NOT checked; its decide() agrees with expect on ${requests.length - ids.length}/${requests.length}${ids.length ? ` (differs on ${ids.join(', ')})` : ''}`
    : `${p.library}: ${p.name}: all ${requests.length} requests answered as expected`
  return { name: p.name, checked: requests.length, disagreements: ids, verifyOnly: !!p.verifyOnly, summary }
}

/**
 * Call a timed closure `times` more times; throws if the decision it stands for ever differs from `expect`.
 * @param {string} name
 * @param {Request} req
 * @param {Call} fn
 * @param {(out: unknown) => boolean} answer
 * @param {number} [times]
 */
async function recheck(name, req, fn, answer, times = 200) {
  for (let i = 0; i < times; i++) {
    const got = answer(await fn())
    if (got !== req.expect) throw new VerificationError(`${name}: ${req.id}: timed call decided ${got}, expected ${req.expect}`)
  }
}

/**
 * A fresh loop per timed closure, so the call site inside it only ever sees that closure (V8
 * shares feedback between closures created at one source site, which would make one path's
 * loop polymorphic over every path timed before it).
 * @param {boolean} isAsync
 * @returns {(fn: Call, n: number) => bigint | Promise<bigint>}
 */
function makeLoop(isAsync) {
  const body = isAsync
    ? 'return (async () => { const t0 = now(); let sink; for (let i = 0; i < n; i++) sink = await fn(); keep(sink); return now() - t0 })()'
    : 'const t0 = now(); let sink; for (let i = 0; i < n; i++) sink = fn(); keep(sink); return now() - t0'
  const make = new Function('now', 'keep', `return function loop(fn, n) { ${body} }`)
  return make(process.hrtime.bigint, keep)
}

/** @type {unknown} */
// eslint-disable-next-line no-unused-vars -- a sink: what `keep` stores cannot be optimised away
let kept
/** @param {unknown} x */
function keep(x) {
  kept = x
}

/**
 * Time `fn`: warm up for `warmupMs`, calibrate N so one repetition of N calls takes about
 * `targetMs`, then run `reps` repetitions. A closure returning a promise is awaited per call.
 * @param {Call} fn
 * @param {TimingOptions} [opts]
 * @returns {Promise<Timing>}
 */
async function timeRequest(fn, { warmupMs = 200, targetMs = 500, reps = 5 } = {}) {
  const first = fn()
  const isAsync = !!first && typeof (/** @type {any} */ (first).then) === 'function'
  if (isAsync) await first
  const loop = makeLoop(isAsync)
  const deadline = process.hrtime.bigint() + BigInt(Math.round(warmupMs * 1e6))
  // Calibrate on the last (largest, most warmed-up) warm-up batch: the first calls of a path
  // are slower (not yet optimised) and would make N too small.
  let perCall
  for (let batch = 1; ; batch = Math.min(batch * 2, 1 << 16)) {
    perCall = Number(await loop(fn, batch)) / batch
    if (process.hrtime.bigint() >= deadline) break
  }
  const n = Math.max(1, Math.round((targetMs * 1e6) / perCall))
  /** @type {number[]} */
  const samples = []
  for (let r = 0; r < reps; r++) samples.push(Number(await loop(fn, n)) / n)
  const sorted = [...samples].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const medianNs = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  return { medianNs, minNs: sorted[0], maxNs: sorted[sorted.length - 1], n }
}

/**
 * A full collection before each timed request: V8's `gc` when node runs with --expose-gc (run.js
 * sees to that), else nothing. (Turning the flag on at run time with v8.setFlagsFromString is
 * undefined behaviour, so it is not done here.)
 */
const collect = /** @type {() => void} */ (typeof globalThis.gc === 'function' ? globalThis.gc : () => {})

/**
 * @typedef {object} Row One timed path.
 * @property {string} library
 * @property {string} path
 * @property {boolean} verifyOnly
 * @property {Record<string, Timing>} timings Per timed request id.
 */

/**
 * Verify a path, then time each timed request and re-check its closure 200 times after.
 * @template S
 * @param {Path<S>} p
 * @param {Scenario} scenario
 * @param {TimingOptions} timing
 * @returns {Promise<{ row: Row, verification: Verification, setupMs: number }>}
 */
async function runPath(p, scenario, timing) {
  const t0 = process.hrtime.bigint()
  const state = await p.prepare(scenario)
  const setupMs = Number(process.hrtime.bigint() - t0) / 1e6
  const verification = await verify(p, state, scenario.requests)
  const answer = p.answer || ((/** @type {unknown} */ out) => out)
  /** @type {Record<string, Timing>} */
  const timings = {}
  for (const req of scenario.requests.filter((r) => r.timed)) {
    const fn = p.call(state, req)
    if (!p.verifyOnly) await recheck(p.name, req, fn, /** @type {(out: unknown) => boolean} */ (answer), 1)
    collect()
    timings[req.id] = await timeRequest(fn, timing)
    if (!p.verifyOnly) await recheck(p.name, req, fn, /** @type {(out: unknown) => boolean} */ (answer))
  }
  return { row: { library: p.library, path: p.name, verifyOnly: !!p.verifyOnly, timings }, verification, setupMs }
}

/**
 * Thousands separators from 100 ns up, three significant digits below.
 * @param {number} ns
 */
function fmtNs(ns) {
  return ns >= 100 ? Math.round(ns).toLocaleString('en-US') : ns.toPrecision(3)
}

/**
 * A Markdown table: per request the median ns per call and the min–max over the repetitions.
 * Verify-only paths are marked †.
 * @param {Row[]} rows
 * @param {string[]} [ids]
 */
function table(rows, ids = ['R1', 'R2', 'R3', 'R4']) {
  const head = ['Library', 'Path', ...ids.flatMap((id) => [`${id} median`, `${id} min–max`])]
  const lines = [`| ${head.join(' | ')} |`, `|---|---|${'---:|'.repeat(2 * ids.length)}`]
  for (const row of rows) {
    const cells = [row.library, row.path + (row.verifyOnly ? ' †' : '')]
    for (const id of ids) {
      const t = row.timings[id]
      cells.push(...(t ? [fmtNs(t.medianNs), `${fmtNs(t.minNs)}–${fmtNs(t.maxNs)}`] : ['–', '–']))
    }
    lines.push(`| ${cells.join(' | ')} |`)
  }
  if (rows.some((r) => r.verifyOnly)) {
    lines.push('', '† verify-only: makes no authorization decision (or, for the baseline, none at all); its answers were not checked against the scenario.')
  }
  return lines.join('\n')
}

/** @returns {Scenario} The repository's copy of the shared scenario (the one ours.js reads). */
function loadScenario() {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'scenario.json'), 'utf8'))
}

/** The 20 rules as plain Cedar, as the peers were given them (the repository's copy of the shared file). */
const CEDAR_POLICIES = path.join(__dirname, '..', '..', 'policies', 'cedar.cedar')

/**
 * The request's fixed clock: its own `now` if it has one, else the scenario's.
 * @param {Scenario} scenario
 * @param {Request} req
 */
function requestNow(scenario, req) {
  return req.now ?? scenario.now
}

/**
 * Installed version of an npm package (from its package.json under this folder's node_modules).
 * @param {string} name
 */
function packageVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'node_modules', name, 'package.json'), 'utf8')).version
  } catch {
    return 'not installed'
  }
}

module.exports = {
  VerificationError,
  verify,
  recheck,
  timeRequest,
  runPath,
  collect,
  table,
  fmtNs,
  loadScenario,
  requestNow,
  packageVersion,
  CEDAR_POLICIES,
}
