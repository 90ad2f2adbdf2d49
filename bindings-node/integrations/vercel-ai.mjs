// ES module entry: the same objects as the CommonJS one.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const m = require('./vercel-ai.js')

export const { ToolGate, defaultGate, guardTool, approve, deny } = m
export default m
