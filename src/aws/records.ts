/**
 * What cct changed on a resource it does not own is recorded on that resource, as tags,
 * so rollback restores exactly what was there from any machine. Lambda and IAM tag
 * values allow only letters, digits, spaces and _ . : / = + - @, and 256 characters, so a
 * record is JSON in base64url, split across numbered tags when long.
 */
const CHUNK = 256

export function recordKey(stack: string, what: string): string {
  return `cct:${stack}:${what}`
}

export function encodeRecord(key: string, value: unknown): Record<string, string> {
  const text = Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
  const tags: Record<string, string> = {}
  const parts = Math.max(1, Math.ceil(text.length / CHUNK))
  for (let i = 0; i < parts; i++) tags[parts === 1 ? key : `${key}.${i}`] = text.slice(i * CHUNK, (i + 1) * CHUNK)
  return tags
}

export function decodeRecord<T>(key: string, tags: Record<string, string> | undefined): T | undefined {
  if (!tags) return undefined
  let text = tags[key]
  if (text === undefined) {
    const parts: string[] = []
    for (let i = 0; tags[`${key}.${i}`] !== undefined; i++) parts.push(tags[`${key}.${i}`]!)
    if (parts.length === 0) return undefined
    text = parts.join('')
  }
  return JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as T
}

/** All tag keys a record occupies, for removing it. */
export function recordTagKeys(key: string, tags: Record<string, string> | undefined): string[] {
  return Object.keys(tags ?? {}).filter((k) => k === key || k.startsWith(`${key}.`))
}
