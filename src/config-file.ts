import {readFile, writeFile} from 'node:fs/promises'

import {usageError} from './errors.js'
import type {StackOptions} from './options.js'

/**
 * The answers of `cct setup`, saved so later commands need no repeated flags. Flags beat
 * the file; the file beats the defaults. Flat and small on purpose:
 *
 *   {"stack": "cct", "region": "us-east-1", "functions": ["articles-api"], "engine": "valkey",
 *    "nodeType": "cache.t4g.micro", "replicas": 0, "tls": true, "cidr": "10.0.0.0/16",
 *    "autoCache": true, "autoCacheTtls": {"*": 300, "articles": {"item": 600, "query": 60}}}
 */
export const DEFAULT_CONFIG_FILE = 'cct.json'

export interface ConfigFile extends Partial<
  Omit<StackOptions, 'waitTimeoutSeconds' | 'pollIntervalMs' | 'force' | 'sources'>
> {
  region?: string
  profile?: string
}

const FIELDS: Record<keyof ConfigFile, 'string' | 'number' | 'boolean' | 'string[]' | 'object'> = {
  stack: 'string',
  region: 'string',
  profile: 'string',
  cidr: 'string',
  subnetPrefix: 'number',
  nat: 'boolean',
  vpcId: 'string',
  subnetIds: 'string[]',
  engine: 'string',
  engineVersion: 'string',
  nodeType: 'string',
  replicas: 'number',
  shards: 'number',
  tls: 'boolean',
  serverless: 'boolean',
  maxDataGb: 'number',
  maxEcpu: 'number',
  functions: 'string[]',
  autoCache: 'boolean',
  autoCacheTtls: 'object',
  alarms: 'string',
}

/** Reads the config; a missing default file is no config, a missing named one is an error. */
export async function readConfig(path: string, explicit: boolean): Promise<ConfigFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return {}
    throw usageError(
      `Cannot read config file ${path} (${(error as NodeJS.ErrnoException).code})`,
      'Check --config, or run `cct setup` to write one',
    )
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw usageError(
      `${path} is not valid JSON (${(error as Error).message})`,
      'Fix the file, or delete it and run `cct setup` again',
    )
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw usageError(`${path} must hold a JSON object`, 'See `cct setup --help` for its fields')
  for (const [key, value] of Object.entries(parsed)) {
    const type = FIELDS[key as keyof ConfigFile]
    if (!type) throw usageError(`${path}: unknown field "${key}"`, `Known fields: ${Object.keys(FIELDS).join(', ')}`)
    const ok =
      type === 'string[]'
        ? Array.isArray(value) && value.every((v) => typeof v === 'string')
        : type === 'object'
          ? value !== null && typeof value === 'object' && !Array.isArray(value)
          : typeof value === type
    if (!ok)
      throw usageError(`${path}: "${key}" must be a ${type}`, 'Fix the file, or delete it and run `cct setup` again')
  }
  return parsed as ConfigFile
}

export async function writeConfig(path: string, config: ConfigFile): Promise<void> {
  const ordered = Object.fromEntries(
    Object.keys(FIELDS)
      .filter((k) => config[k as keyof ConfigFile] !== undefined)
      .map((k) => [k, config[k as keyof ConfigFile]]),
  )
  await writeFile(path, JSON.stringify(ordered, null, 2) + '\n')
}
