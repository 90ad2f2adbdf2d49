// Types of `runtime-identity/integrations/langchain` (`@langchain/core` 1.x).
// Structural, not `import type … from '@langchain/core/tools'`: one declaration serves CommonJS
// and ES module consumers, which see that package's two builds as different types.
import type { ApprovalRequest, Receipt, Runtime } from '../index'

export interface GuardToolOptions {
  /** A template over the tool's parsed input (`'customer/{customerId}'`), or a function of it. */
  resource?: string | ((input: any) => string)
  /** The runtime (default: the identity's, then the credential's, then the default runtime). */
  runtime?: Runtime
  /** `'message'` (default): a refusal is the result (an error ToolMessage for a ToolCall); `'throw'`: DeniedError / ApprovalRequiredError. */
  onDeny?: 'message' | 'throw'
  /** Called on `require_approval`: return a Receipt (or its token) to proceed, or null to refuse. */
  onApproval?: (request: ApprovalRequest) => Receipt | string | null | undefined | Promise<Receipt | string | null | undefined>
}

/** A LangChain tool: `tool(fn, { name, schema })`, a DynamicStructuredTool or any StructuredTool. */
export interface LangChainTool {
  name: string
  invoke(input: any, config?: any): Promise<any>
}

/** A copy of `tool` (same class, name, schema) with every call checked as `action`. */
export declare function guardTool<T extends LangChainTool>(tool: T, action: string, options?: GuardToolOptions): T
