'use strict'
// eslint for the package's JavaScript (`make lint-node`, part of `make test`): the recommended
// rules, Node's globals, nothing of style (layout is left to review).
const js = require('@eslint/js')
const globals = require('globals')

module.exports = [
  { ignores: ['node_modules/', 'binding.js', '*.node', 'target/'] },
  js.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', ecmaVersion: 2023, globals: globals.node },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', ecmaVersion: 2023, globals: globals.node },
  },
  {
    rules: {
      // `_name` marks an argument kept for its position; `{ a, ...rest }` takes `a` out of `rest`.
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
]
