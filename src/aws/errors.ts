/**
 * Whether an error is one of the named AWS errors. The SDK sets `name` to the error code
 * AWS returned (e.g. `ReplicationGroupNotFoundFault`), which is what cct branches on.
 */
export function isAwsError(error: unknown, ...names: string[]): error is Error & {name: string} {
  const name = typeof error === 'object' && error !== null ? (error as {name?: unknown}).name : undefined
  return typeof name === 'string' && names.includes(name)
}
