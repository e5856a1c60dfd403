/**
 * What is stored under an entry key: the value as plain JSON (so redis-cli and the Python
 * helper read it as is), or a marker for "the loader found nothing". The marker is not
 * valid JSON, so no value can be mistaken for it; anything that is neither is corrupt.
 */
export const NOT_FOUND_MARKER = '!not-found'

export type Decoded = {kind: 'value'; value: unknown} | {kind: 'not-found'} | {kind: 'corrupt'}

export function decodeEntry(raw: string): Decoded {
  if (raw === NOT_FOUND_MARKER) return {kind: 'not-found'}
  try {
    const value: unknown = JSON.parse(raw)
    // We never store a bare null (null is written as the marker); treat one as not-found.
    return value === null ? {kind: 'not-found'} : {kind: 'value', value}
  } catch {
    return {kind: 'corrupt'}
  }
}

/**
 * JSON for values from DynamoDB and friends: Sets (DynamoDB SS/NS/BS) become arrays,
 * Maps objects, bigints numbers (or strings when they would lose precision), binary
 * base64, lib-dynamodb's NumberValue a number. Returns undefined when the value cannot be
 * serialized at all (a cycle): it is then simply not cached.
 */
export function encodeValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return NOT_FOUND_MARKER
  try {
    return JSON.stringify(value, replacer)
  } catch {
    return undefined
  }
}

function replacer(this: unknown, key: string, value: unknown): unknown {
  // JSON.stringify has already applied toJSON (Buffer -> {type, data}); look at the original.
  const original = (this as Record<string, unknown>)[key]
  if (original instanceof Uint8Array)
    return Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64')
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  if (value instanceof Set) return [...value]
  if (value instanceof Map) return Object.fromEntries(value)
  if (isNumberValue(value)) {
    const n = Number(value.value)
    return Number.isSafeInteger(n) || !Number.isInteger(n) ? n : value.value
  }
  return value
}

function isNumberValue(value: unknown): value is {value: string} {
  return (
    typeof value === 'object' &&
    value !== null &&
    value.constructor?.name === 'NumberValue' &&
    typeof (value as {value?: unknown}).value === 'string'
  )
}
