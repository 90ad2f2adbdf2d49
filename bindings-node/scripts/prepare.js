// Builds the native addon when the package is installed from a path or a clone
// (`npm install ./bindings-node`): with the local napi cli when the devDependencies are
// there, otherwise with the pinned one fetched by npx. Every build targets the host triple
// so that it shares the Rust target folder with cargo and maturin.
'use strict'
const { execFileSync, execSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const env = { ...process.env }
if (!env.CARGO_BUILD_TARGET) {
  const host = execSync('rustc -vV').toString().match(/^host: (.+)$/m)
  if (host) env.CARGO_BUILD_TARGET = host[1].trim()
}
const args = ['build', '--platform', '--release', '--js', 'binding.js', '--dts', 'binding.d.ts']
const local = path.join(root, 'node_modules', '.bin', 'napi')
if (fs.existsSync(local)) {
  execFileSync(local, args, { cwd: root, env, stdio: 'inherit' })
} else {
  execFileSync('npx', ['--yes', '-p', '@napi-rs/cli@3.10.12', 'napi', ...args], { cwd: root, env, stdio: 'inherit' })
}
