/**
 * Reading numbers and flags from env vars. A bad value must never break a function that
 * merely uses the cache, so it falls back to the default and is reported once.
 */
export type Env = Readonly<Record<string, string | undefined>>

export type Warn = (message: string) => void

export function envNumber(
  env: Env,
  name: string,
  fallback: number,
  warn: Warn,
  check: (n: number) => boolean = (n) => n >= 0,
): number {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const n = Number(raw)
  if (Number.isFinite(n) && check(n)) return n
  warn(`[cct-cache] ignoring ${name}=${JSON.stringify(raw)}: not a valid number, using ${fallback}`)
  return fallback
}

export function envFlag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase()
  if (raw === undefined || raw === '') return fallback
  return raw === 'true' || raw === '1' || raw === 'yes' || raw === 'on'
}
