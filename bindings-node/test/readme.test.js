'use strict'
// The README's Node quickstart runs as written (in a fresh folder).
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

test('the README Node quickstart runs', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8')
  const section = readme.split('## Quickstart: Node')[1].split('\n## ')[0]
  const code = /```js\n([\s\S]*?)```/.exec(section)[1]
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rid-readme-'))
  const file = path.join(dir, 'quickstart.js')
  // `require('runtime-identity')` resolves to this package.
  fs.writeFileSync(file, code.replace("require('runtime-identity')", `require(${JSON.stringify(path.join(__dirname, '..'))})`))
  const out = execFileSync(process.execPath, [file], { cwd: dir }).toString()
  assert.deepEqual(out.trim().split('\n'), [
    'constraint_violated Decision(deny payments.refund on customer/42 by agent:acme/support-bot: constraint_violated — `amount` = 500 exceeds max 100)',
    'true',
  ])
  assert.ok(fs.existsSync(path.join(dir, '.runtime-identity', 'audit.jsonl')))
})
