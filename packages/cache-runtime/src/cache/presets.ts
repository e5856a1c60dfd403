/**
 * Per-entity TTLs (seconds) from the runbook's cache strategy. Each can be overridden
 * per function with an env var (CACHE_TTL_ARTICLES=600), so operators tune freshness
 * without redeploying code.
 */
export const TTL_PRESETS = {
  articles: 3600,
  videos: 1800,
  userProfiles: 900,
  election: 86400,
  resources: 7200,
  lists: 1800,
} as const

export type TtlPreset = keyof typeof TTL_PRESETS

/** `userProfiles` -> `CACHE_TTL_USER_PROFILES`. The Python helper derives the same names. */
export function presetEnvName(preset: string): string {
  return `CACHE_TTL_${preset.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`
}

export function isTtlPreset(name: string): name is TtlPreset {
  return Object.hasOwn(TTL_PRESETS, name)
}
