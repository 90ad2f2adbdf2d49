// ES module entry: the same objects as the CommonJS one.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const m = require('./langchain.js')

export const { guardTool } = m
export default m
