'use strict'
// Arguments as JSON text for the native side: one `JSON.parse` in Rust instead of one native
// call per value. Only values whose text means exactly what the native per-value conversion
// makes of them take this path: plain objects and arrays, strings without lone surrogates,
// booleans, null, and finite numbers that are either fractional or integers in the 32-bit
// range (the conversion keeps other integers as floats). Anything else (undefined members,
// class instances, Dates, BigInt, larger integers, deep nesting) returns null and is passed as
// a value, as before.

const MAX_DEPTH = 32
const PROTO = Object.prototype

function plain(v, depth) {
  switch (typeof v) {
    case 'string':
      return v.isWellFormed()
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(v) && (!Number.isInteger(v) || (v >= -2147483648 && v <= 4294967295))
    case 'object': {
      if (v === null) return true
      if (depth >= MAX_DEPTH) return false
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!plain(v[i], depth + 1)) return false
        return true
      }
      const proto = Object.getPrototypeOf(v)
      if (proto !== PROTO && proto !== null) return false
      for (const k in v) {
        if (!Object.hasOwn(v, k) || !plain(v[k], depth + 1)) return false
      }
      return true
    }
    default:
      return false
  }
}

/** `args` as JSON text when that text means exactly the same, else null. */
function argsText(args) {
  if (args === null || typeof args !== 'object' || Array.isArray(args) || !plain(args, 0)) return null
  return JSON.stringify(args)
}

module.exports = { argsText }
