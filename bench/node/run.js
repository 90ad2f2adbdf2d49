'use strict'
// The Node benchmark: runtime-identity and its Node peers on the shared scenario, in one process.
//
//     node bench/node/run.js [--quick] [--json OUT] [--md OUT] [--only LIBRARY ...] [--sections scenario depth]
//
// Every path is verified on the scenario's 10 requests before it is timed (peers/harness.js).
// Ours (../ours.js): the bare function (baseline), the raw `rt.check`, and a `guard`-ed call
// inside `actingAs` with `buffered` and with `sync` audit (a folder runtime on local disk). The
// peers: node-casbin `enforceSync`, @cedar-policy/cedar-wasm `statefulIsAuthorized`, and jose
// `jwtVerify` alone (verify-only). Reports per request the medians and, for our calls, each
// peer's time relative to ours (peer time / our time: above 1 means we are faster).
//
// A second section, `depth` (on by default, `chainDepth` in the JSON): request R1 as a guarded
// call and as a raw check with support-bot's credential as a 1-, 2- and 3-link chain (attenuated
// with the same scopes), each path verified on the 10 requests first; the overhead is the time
// over the bare function. `--sections scenario` runs only the scenario comparison.
//
// It re-runs itself under node with two V8 flags when they are missing: --expose-gc (a full GC
// before each timed request) and --no-turbo-inline-js-wasm-calls. Without the latter, node
// v20.20.2's V8 aborts now and then ("Fatal error ... unreachable code" in
// Deoptimizer::DoComputeBuiltinContinuation) while timing cedar-wasm, when TurboFan has inlined
// the JS->Wasm call and later deoptimises it. The flag only changes how JS calls into Wasm (only
// cedar-wasm is Wasm here) and did not change cedar-wasm's timings measurably (143-156 µs per
// decision with and without it, same session).
const { spawnSync } = require('node:child_process')

const V8_FLAGS = ['--expose-gc', '--no-turbo-inline-js-wasm-calls']
const missing = V8_FLAGS.filter((f) => !process.execArgv.includes(f))
if (missing.length) {
  const child = spawnSync(process.execPath, [...process.execArgv, ...missing, __filename, ...process.argv.slice(2)], { stdio: 'inherit' })
  if (child.error) throw child.error
  if (child.signal) console.error(`benchmark process killed by ${child.signal}`)
  process.exit(child.status ?? 1)
}

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const ours = require('./ours')
const h = require('./peers/harness')
const casbin = require('./peers/casbin')
const cedarWasm = require('./peers/cedar-wasm')
const jose = require('./peers/jose')

/**
 * @typedef {import('./peers/harness').Scenario} Scenario
 * @typedef {import('./peers/harness').Row} Row
 * @typedef {import('./peers/harness').TimingOptions} TimingOptions
 * @typedef {ReturnType<typeof ours.build>} Ours
 */

const LIBRARY = 'runtime-identity'
/** @type {Required<TimingOptions>} */
const FULL = { warmupMs: 200, targetMs: 500, reps: 5 }
/** @type {Required<TimingOptions>} */
const QUICK = { warmupMs: 20, targetMs: 20, reps: 3 }
const IDS = ['R1', 'R2', 'R3', 'R4']

/**
 * Our timed paths: the raw check and the guarded call, each verified through `ours.decide`.
 * @returns {import('./peers/harness').Path<Ours>[]}
 */
function ourPaths() {
  /** @param {'buffered' | 'sync'} durability */
  const built = (durability) => (/** @type {Scenario} */ s) => ours.build(/** @type {any} */ (s), { durability })
  const common = { library: LIBRARY, decide: ours.decide, packages: [] }
  return [
    {
      ...common,
      name: 'rt.check, cached credential, buffered audit',
      prepare: built('buffered'),
      call: ours.rawCheck,
      answer: (/** @type {any} */ d) => d.allowed,
    },
    {
      ...common,
      name: 'guard call in actingAs, buffered audit',
      prepare: built('buffered'),
      call: ours.guardedCall,
      answer: (out) => out !== null,
    },
    {
      ...common,
      name: 'guard call in actingAs, sync audit (fsync per call)',
      prepare: built('sync'),
      call: ours.guardedCall,
      answer: (out) => out !== null,
    },
  ]
}

/** @type {import('./peers/harness').Path<any>[]} */
const PEERS = [casbin.PATH, cedarWasm.PATH, jose.PATH]

/**
 * The bare tool function, no authorization: the floor every call pays.
 * @param {Scenario} scenario
 * @param {TimingOptions} timing
 * @returns {Promise<Row>}
 */
async function baseline(scenario, timing) {
  /** @type {Row['timings']} */
  const timings = {}
  for (const req of scenario.requests.filter((r) => r.timed)) {
    h.collect()
    timings[req.id] = await h.timeRequest(ours.bareCall(/** @type {any} */ (req)), timing)
  }
  return { library: 'node', path: 'bare function (baseline)', verifyOnly: true, timings }
}

/**
 * Peer time / our time per request, one table row per peer.
 * @param {Row} mine
 * @param {Row[]} peers
 */
function ratios(mine, peers) {
  const lines = [`| Peer | ${IDS.join(' | ')} |`, `|---|${'---:|'.repeat(IDS.length)}`]
  for (const p of peers) {
    const cells = IDS.map((id) => `${ratio(p, mine, id).toFixed(2)}×`)
    lines.push(`| ${p.library}: ${p.path}${p.verifyOnly ? ' †' : ''} | ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

/** @param {Row} peer @param {Row} mine @param {string} id */
const ratio = (peer, mine, id) => peer.timings[id].medianNs / mine.timings[id].medianNs

/** Installed versions of everything timed. */
function versions() {
  /** @type {Record<string, string>} */
  const out = { node: process.version }
  try {
    out['runtime-identity'] = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'bindings-node', 'package.json'), 'utf8')).version
  } catch {
    out['runtime-identity'] = 'unknown'
  }
  for (const p of PEERS) for (const name of p.packages || []) out[name] = h.packageVersion(name)
  out['cedar (engine in cedar-wasm)'] = cedarWasm.engineVersion()
  return out
}

function host() {
  return { node: process.version, platform: `${os.type()} ${os.release()} ${os.arch()}`, cpu: os.cpus()[0]?.model ?? '', cpus: os.cpus().length }
}

/** @param {number[]} xs */
const load = (xs) => xs.map((x) => x.toFixed(2)).join('/')

const SECTIONS = ['scenario', 'depth']
const DEPTHS = [1, 2, 3]
const DEPTH_REQUEST = 'R1'

/** @param {number} ns */
const fmtUs = (ns) => (ns >= 1000 ? `${(ns / 1000).toFixed(1)} µs` : `${h.fmtNs(ns)} ns`)

/**
 * R1 with a 1-, 2- and 3-link credential: the guarded call and the raw check, each path
 * verified on all 10 requests first, and the bare function.
 * @param {Scenario} scenario
 * @param {Required<TimingOptions>} timing
 */
async function chainDepth(scenario, timing) {
  const req = /** @type {any} */ (scenario.requests.find((r) => r.id === DEPTH_REQUEST))
  h.collect()
  const baseline = await h.timeRequest(ours.bareCall(req), timing)
  /** @type {Record<string, unknown>[]} */
  const results = []
  for (const links of DEPTHS) {
    const state = ours.deepen(ours.build(/** @type {any} */ (scenario), { durability: 'buffered' }), links)
    for (const [series, name, call, answer] of /** @type {[string, string, any, (out: any) => boolean][]} */ ([
      ['ours guard', 'guard call in actingAs, buffered audit', ours.guardedCall, (out) => out !== null],
      ['ours rt.check', 'rt.check, cached credential, buffered audit', ours.rawCheck, (d) => d.allowed],
    ])) {
      /** @type {import('./peers/harness').Path<any>} */
      const p = { library: LIBRARY, name: `${name}, ${links}-link credential`, prepare: () => state, decide: ours.decide, call, answer, packages: [] }
      const verification = await h.verify(p, state, scenario.requests)
      console.error(verification.summary)
      const fn = call(state, req)
      await h.recheck(p.name, req, fn, answer, 1)
      h.collect()
      const t = await h.timeRequest(fn, timing)
      await h.recheck(p.name, req, fn, answer)
      results.push({ library: LIBRARY, path: p.name, series, links, verification: verification.summary, timing: t, overheadNs: t.medianNs - baseline.medianNs })
    }
  }
  return { request: DEPTH_REQUEST, depths: DEPTHS, baseline, results }
}

/** @param {{ request: string, baseline: import('./peers/harness').Timing, results: any[] }} doc */
function depthTable(doc) {
  const lines = [
    `### ${doc.request} by chain length: median (min–max); overhead over the bare function (${fmtUs(doc.baseline.medianNs)})`,
    '',
    '| links | series | median | min–max | overhead |',
    '|---:|---|---:|---:|---:|',
  ]
  for (const r of doc.results) {
    lines.push(`| ${r.links} | ${r.series} | ${fmtUs(r.timing.medianNs)} | ${fmtUs(r.timing.minNs)}–${fmtUs(r.timing.maxNs)} | ${fmtUs(r.overheadNs)} |`)
  }
  return lines.join('\n')
}

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {{ quick: boolean, json?: string, md?: string, only?: string[], sections: string[] }} */
  const args = { quick: false, sections: SECTIONS }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--quick') args.quick = true
    else if (a === '--json' || a === '--md') {
      const v = argv[++i]
      if (!v) throw new Error(`${a} needs a file name`)
      args[a === '--json' ? 'json' : 'md'] = v
    } else if (a === '--only') {
      args.only = []
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) args.only.push(argv[++i])
    } else if (a === '--sections') {
      args.sections = []
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) args.sections.push(argv[++i])
      const bad = args.sections.filter((x) => !SECTIONS.includes(x))
      if (bad.length || !args.sections.length) throw new Error(`--sections takes some of ${SECTIONS.join(', ')}`)
    } else if (a === '-h' || a === '--help') {
      console.log('usage: node run.js [--quick] [--json OUT] [--md OUT] [--only LIBRARY ...] [--sections scenario depth]')
      process.exit(0)
    } else throw new Error(`unknown argument ${a}`)
  }
  return args
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  // ours.build opens each runtime in a fresh folder under os.tmpdir(): point that at a scratch
  // folder of this run, removed at exit (the audit logs of a full run take some hundreds of MB).
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'rid-bench-node-'))
  process.env.TMPDIR = scratch
  process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }))
  const scenario = h.loadScenario()
  const timing = args.quick ? QUICK : FULL
  /** @type {import('./peers/harness').Path<any>[]} */
  const paths = [...ourPaths(), ...PEERS].filter((p) => !args.only || args.only.includes(p.library))
  const t0 = Date.now()
  const out = [`## Node: ns per decision (${args.quick ? 'quick' : 'full'} run: warm-up ${timing.warmupMs} ms, ~${timing.targetMs} ms per repetition, ${timing.reps} repetitions)`, '']
  const vers = versions()
  /** @type {Record<string, unknown>} */
  // Paths relative to the repository, never this machine's.
  const repo = path.join(__dirname, '..', '..')
  const doc = { scenario: 'bench/scenario.json', cedarPolicies: path.relative(repo, h.CEDAR_POLICIES), timing, quick: args.quick, host: host(), versions: vers }
  if (args.sections.includes('scenario')) {
    /** @type {Row[]} */
    const rows = [await baseline(scenario, timing)]
    /** @type {Record<string, unknown>[]} */
    const records = [{ ...rows[0], note: 'the tool function alone, no authorization' }]
    for (const p of paths) {
      const loadBefore = os.loadavg()
      const started = Date.now()
      const { row, verification, setupMs } = await h.runPath(p, scenario, timing)
      console.error(verification.summary)
      rows.push(row)
      records.push({ ...row, note: p.note ?? '', verification: verification.summary, setupMs, loadBefore, loadAfter: os.loadavg(), wallS: (Date.now() - started) / 1000 })
    }

    const byName = (/** @type {string} */ name) => rows.find((r) => r.library === LIBRARY && r.path === name)
    const [raw, guarded, guardedSync] = ourPaths().map((p) => byName(p.name))
    const peers = rows.filter((r) => r.library !== LIBRARY && r.library !== 'node')
    out.push(h.table(rows), '')
    if (guarded) {
      const base = rows[0]
      out.push(`Guarded-call overhead over the bare function (buffered audit): ${IDS.map((id) => `${id} ${h.fmtNs(guarded.timings[id].medianNs - base.timings[id].medianNs)} ns`).join(', ')}`, '')
    }
    /** @type {Record<string, Record<string, Record<string, number>>>} */
    const ratioJson = {}
    for (const [label, mine] of /** @type {[string, Row | undefined][]} */ ([
      ['our guard call, buffered audit', guarded],
      ['our guard call, sync audit', guardedSync],
      ['our rt.check', raw],
    ])) {
      if (!mine || !peers.length) continue
      out.push(`### Peer time / ${label}, per request (above 1: we are faster)`, '', ratios(mine, peers), '')
      ratioJson[label] = Object.fromEntries(peers.map((p) => [`${p.library}: ${p.path}`, Object.fromEntries(IDS.map((id) => [id, ratio(p, mine, id)]))]))
    }
    const deciders = peers.filter((p) => !p.verifyOnly)
    if (guarded && deciders.length) {
      const fastest = IDS.map((id) => {
        const best = deciders.reduce((a, b) => (b.timings[id].medianNs < a.timings[id].medianNs ? b : a))
        return `${id} ${ratio(best, guarded, id).toFixed(1)}× (${best.library})`
      })
      out.push(`Fastest deciding peer / our guarded call (buffered), the README's bar being ≥ 10×: ${fastest.join(', ')}`, '')
    }
    out.push('Verification:', ...records.filter((r) => r.verification).map((r) => `- ${r.verification}`), '')
    out.push(`Host: ${host().cpus} × ${host().cpu}; load average (1/5/15 min) before → after each path: ${records.filter((r) => r.loadBefore).map((r) => `${r.library} ${load(/** @type {number[]} */ (r.loadBefore))} → ${load(/** @type {number[]} */ (r.loadAfter))}`).join('; ')}`, '')
    doc.results = records
    doc.ratios = ratioJson
  }
  if (args.sections.includes('depth')) {
    const depth = await chainDepth(scenario, timing)
    doc.chainDepth = depth
    out.push(depthTable(depth), '')
  }
  out.push(`Versions: ${Object.entries(vers).map(([k, v]) => `${k} ${v}`).join('; ')}`)
  doc.wallS = (Date.now() - t0) / 1000
  const text = out.join('\n')
  console.log(text)
  if (args.md) fs.writeFileSync(args.md, `${text}\n`)
  if (args.json) {
    fs.writeFileSync(args.json, `${JSON.stringify(doc, null, 2)}\n`)
    console.error(`JSON written to ${args.json}`)
  }
}

main().catch((e) => {
  console.error(e instanceof h.VerificationError ? `VERIFICATION FAILED: ${e.message}` : e)
  process.exit(1)
})
