'use strict'
// `npm install /path/to/bindings-node` from another project gives a working package, for
// require and import, with the integrations' entry points.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

test('another project installs the package from its path', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rid-consumer-'))
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }))
  execFileSync('npm', ['install', '--no-audit', '--no-fund', path.join(__dirname, '..')], { cwd: dir, stdio: 'pipe' })
  fs.writeFileSync(path.join(dir, 'a.cjs'), "const { Runtime } = require('runtime-identity'); console.log(Runtime.inMemory({ issuer: 'org:acme' }).issuer)")
  fs.writeFileSync(
    path.join(dir, 'b.mjs'),
    "import { guard } from 'runtime-identity'; import { protect } from 'runtime-identity/integrations/mcp'; console.log(typeof guard, typeof protect)",
  )
  assert.equal(execFileSync(process.execPath, ['a.cjs'], { cwd: dir }).toString().trim(), 'org:acme')
  assert.equal(execFileSync(process.execPath, ['b.mjs'], { cwd: dir }).toString().trim(), 'function function')
})
