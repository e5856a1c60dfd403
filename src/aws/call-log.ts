import {appendFileSync} from 'node:fs'

/** One AWS API call as cct made it. */
export interface ApiCall {
  service: string
  operation: string
  mutating: boolean
}

const READ_ONLY = /^(Describe|List|Get|Head|Lookup|Search|Simulate)/

export function isMutating(operation: string): boolean {
  return !READ_ONLY.test(operation)
}

/**
 * Collects every API call. Idempotency is a claim about calls, so tests (and anyone
 * auditing cct) count them here: in process with `calls`, or across processes with the
 * CCT_CALL_LOG file (JSON lines).
 */
export class CallLog {
  readonly calls: ApiCall[] = []
  constructor(private readonly file = process.env.CCT_CALL_LOG) {}

  record(service: string, operation: string): void {
    const call = {service, operation, mutating: isMutating(operation)}
    this.calls.push(call)
    if (this.file) appendFileSync(this.file, JSON.stringify(call) + '\n')
  }

  get mutating(): ApiCall[] {
    return this.calls.filter((c) => c.mutating)
  }
}
