'use strict'
// The values a guarded call checks, read once. A getter or a Proxy could answer the check with
// one value and the tool with another, so each member is read exactly once into a fresh copy:
// the check is made from that copy (as JSON text) and the tool receives the same copy.
//
// What a copy holds: strings (well-formed: a lone surrogate has no UTF-8 form), booleans,
// null, finite numbers, plain objects (own enumerable string
// keys; `undefined` members stay `undefined`, as JSON leaves them out) and arrays. Converted
// explicitly: a `Date` is checked as its ISO 8601 string (`toISOString`) and the tool gets a
// new Date of the same time; a BigInt within ±(2^53 − 1) is checked as that number and the
// tool gets the BigInt. Anything else — a class instance, a Map or Set, a function, a symbol,
// NaN or ±Infinity, a larger BigInt, `undefined` in an array, an invalid Date,
// nesting deeper than 64 — is refused with an InvalidArgumentError (`invalid_argument`, or
// `input_too_large` for depth) naming where it sits. Nothing is silently left out.
const { InvalidArgumentError } = require('./errors')

// Deeper than the core's bound (32): a call nested 33 to 64 levels deep is the core's
// `request_invalid` decision, as in Python and Rust; beyond, the copy refuses it.
const MAX_DEPTH = 64
const PROTO = Object.prototype
const dateTime = Date.prototype.getTime

function where(path) {
  return path === '' ? 'the argument' : `argument \`${path}\``
}

function refuse(path, what, code = 'invalid_argument') {
  return new InvalidArgumentError(code, `${where(path)} ${what}`)
}

function typeName(v) {
  if (typeof v !== 'object' && typeof v !== 'function') return typeof v
  const proto = Object.getPrototypeOf(v)
  const ctor = proto && Object.hasOwn(proto, 'constructor') ? proto.constructor : null
  return typeof ctor === 'function' && ctor.name ? ctor.name : 'object'
}

const join = (path, key) => (path === '' ? key : `${path}.${key}`)

/** A copy of `v` a check can hold (`state.bigint` set when it holds a BigInt). */
function copy(v, path, depth, state) {
  switch (typeof v) {
    case 'string':
      if (!v.isWellFormed()) throw refuse(path, 'is a string with a lone surrogate, which a check cannot hold')
      return v
    case 'boolean':
      return v
    case 'number':
      if (!Number.isFinite(v)) throw refuse(path, `is ${v}, not a finite number`)
      // Beyond ±(2^53 − 1) JSON text would make an exact integer of it: it goes as a number
      // value instead (the core reads it as the float it is).
      if (Number.isInteger(v) && !Number.isSafeInteger(v)) state.unsafe = true
      return v
    case 'bigint':
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
        throw refuse(path, `is the BigInt ${v}, beyond ±(2^53 − 1)`)
      }
      state.bigint = true
      return v
    case 'object': {
      if (v === null) return null
      if (depth >= MAX_DEPTH) throw refuse(path, `is nested deeper than ${MAX_DEPTH} levels`, 'input_too_large')
      if (Array.isArray(v)) {
        const n = v.length
        const out = new Array(n)
        for (let i = 0; i < n; i++) {
          const item = v[i]
          if (item === undefined) throw refuse(`${path}[${i}]`, 'is undefined, which an array a check holds cannot hold')
          out[i] = copy(item, `${path}[${i}]`, depth + 1, state)
        }
        return out
      }
      const proto = Object.getPrototypeOf(v)
      if (proto === PROTO || proto === null) {
        const out = {}
        for (const k of Object.keys(v)) {
          const item = v[k]
          put(out, k, item === undefined ? undefined : copy(item, join(path, k), depth + 1, state))
        }
        return out
      }
      if (v instanceof Date) {
        let t
        try {
          t = dateTime.call(v) // the time it holds, not what a subclass's methods say
        } catch {
          throw refuse(path, 'is not a real Date')
        }
        if (!Number.isFinite(t)) throw refuse(path, 'is an invalid Date')
        return new Date(t)
      }
      throw refuse(
        path,
        `is a \`${typeName(v)}\`, which a check cannot hold (plain objects, arrays, strings, numbers, booleans, null, Date and safe BigInt only; choose what is checked with { args })`,
      )
    }
    default:
      throw refuse(path, `is a \`${typeName(v)}\`, which a check cannot hold`)
  }
}

/**
 * Sets the own member `k` of `out`, also one named `__proto__`: `JSON.parse` makes such a key
 * an own member, and a plain assignment would set the copy's prototype instead, so that the
 * check (which sees the copy's own members) and the tool (which reads through the prototype)
 * would see different arguments.
 */
function put(out, k, v) {
  if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
  else out[k] = v
}

const bigintAsNumber = (_k, v) => (typeof v === 'bigint' ? Number(v) : v)

/**
 * The arguments of a check, read once: `{ copy, text }`, `copy` the object the tool receives,
 * `text` the JSON the check holds. `args` must be a plain object.
 */
function snapshotArgs(args, path = '') {
  const proto = args !== null && typeof args === 'object' && !Array.isArray(args) ? Object.getPrototypeOf(args) : undefined
  if (proto !== PROTO && proto !== null) {
    throw refuse(path, `is a \`${args === null ? 'null' : Array.isArray(args) ? 'Array' : typeName(args)}\`: a check's arguments are a plain object of named values`)
  }
  const state = { bigint: false, unsafe: false }
  const out = copy(args, path, 0, state)
  if (state.unsafe && state.bigint) throw refuse(path, 'mixes a BigInt with an integer beyond ±(2^53 − 1), which a check cannot hold')
  // `text` null: the copy crosses as a value (it holds an integer JSON text would change).
  return { copy: out, text: state.unsafe ? null : JSON.stringify(out, state.bigint ? bigintAsNumber : undefined) }
}

/** One value read once (a member only the template names): its copy, or an InvalidArgumentError. */
function snapshotValue(v, path) {
  return copy(v, path, 1, { bigint: false, unsafe: false })
}

/** The own enumerable members of a plain object, each read once, into a new object. */
snapshotArgs.members = function members(input) {
  const proto = input !== null && typeof input === 'object' && !Array.isArray(input) ? Object.getPrototypeOf(input) : undefined
  if (proto !== PROTO && proto !== null) snapshotArgs(input) // refuses it, naming its type
  const out = {}
  for (const k of Object.keys(input)) put(out, k, input[k])
  return out
}

module.exports = { snapshotArgs, snapshotValue }
