/**
 * Whether an error is one of the named AWS errors. The SDK sets `name` to the error code
 * AWS returned (e.g. `ReplicationGroupNotFoundFault`), which is what cct branches on.
 */
export function isAwsError(error: unknown, ...names: string[]): error is Error & {name: string} {
  const name = typeof error === 'object' && error !== null ? (error as {name?: unknown}).name : undefined
  return typeof name === 'string' && names.includes(name)
}

/** `call`, with the named AWS errors taken as success (a retry that finds its own change already made). */
export async function ignoring<T>(names: string[], call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call()
  } catch (error) {
    if (isAwsError(error, ...names)) return undefined
    throw error
  }
}
