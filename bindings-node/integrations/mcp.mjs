// ES module entry: the same objects as the CommonJS one.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const m = require('./mcp.js')

export const { TOKEN_META_KEY, credentialMeta, protect } = m
export default m
