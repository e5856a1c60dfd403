import {readFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {CctError, ExitCode, usageError} from '../errors.js'

/** Where and as whom cct talks to AWS; resolved the way the AWS CLI does. */
export interface AwsSettings {
  /** --region / AWS_REGION; when absent the profile's region, as the AWS CLI. */
  region?: string
  /** --profile / AWS_PROFILE: shared config and credentials files, SSO included. */
  profile?: string
  /** --endpoint-url / AWS_ENDPOINT_URL: LocalStack, the moto sandbox, a VPC endpoint. */
  endpoint?: string
  /** SDK attempts per call (standard retry mode). */
  maxAttempts?: number
  /** Milliseconds to establish a connection (CCT_CONNECT_TIMEOUT, seconds; default 5). */
  connectTimeoutMs?: number
  /** Milliseconds a request may go without an answer (CCT_REQUEST_TIMEOUT, seconds; default 30). */
  requestTimeoutMs?: number
  /** How region, profile and endpoint are named in messages when not by their flags (a key of cct.json). */
  labels?: SettingLabels
}

export const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000

/** Where a setting came from, for messages: `--region` or `cct.json "region"`. */
export type SettingLabels = Partial<Record<'region' | 'profile' | 'endpoint', string>>

/**
 * The timeouts from the environment: CCT_CONNECT_TIMEOUT and CCT_REQUEST_TIMEOUT, in
 * seconds (fractions allowed). A value that is not a positive number is bad input.
 */
export function timeoutsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Pick<AwsSettings, 'connectTimeoutMs' | 'requestTimeoutMs'> {
  const read = (name: string): number | undefined => {
    const raw = env[name]
    if (raw === undefined || raw === '') return undefined
    const seconds = Number(raw)
    if (!Number.isFinite(seconds) || seconds <= 0)
      throw usageError(
        `${name}=${raw} is not a positive number of seconds`,
        `Set e.g. ${name}=30, or unset it for the default`,
      )
    return Math.round(seconds * 1000)
  }
  const connect = read('CCT_CONNECT_TIMEOUT')
  const request = read('CCT_REQUEST_TIMEOUT')
  return {...(connect ? {connectTimeoutMs: connect} : {}), ...(request ? {requestTimeoutMs: request} : {})}
}

/**
 * Checks the settings before any call, so a typo is one line and exit 2 (or 3 for a
 * profile), not an SDK error: the endpoint is an http(s) URL, the region is one AWS has
 * (as far as this SDK's partition table knows), the profile exists in the shared files.
 */
export async function validateSettings(settings: AwsSettings): Promise<void> {
  const {endpoint, region, profile, labels = {}} = settings
  if (endpoint !== undefined) {
    const label = labels.endpoint ?? '--endpoint-url'
    let url: URL | undefined
    try {
      url = new URL(endpoint)
    } catch {
      url = undefined
    }
    if (!url || !['http:', 'https:'].includes(url.protocol) || !url.hostname) {
      throw usageError(
        `${label} "${endpoint}" is not an http(s) URL`,
        'Pass e.g. https://localhost:4566, or leave it out to use AWS',
      )
    }
  }
  if (region !== undefined) {
    const label = labels.region ?? '--region'
    if (!REGION_PATTERN.test(region))
      throw usageError(`${label} "${region}" is not an AWS region name`, 'Pass a region such as us-east-1 or eu-west-2')
    if ((await knownRegion(region)) === false)
      throw usageError(
        `${label} "${region}" is not a region AWS has`,
        'Pass a region such as us-east-1 or eu-west-2 (`aws account list-regions` lists yours)',
      )
  }
  if (profile !== undefined) await checkProfile(profile, labels.profile ?? '--profile')
}

/** Whether the SDK's partition table lists the region; undefined when that table cannot be read. */
async function knownRegion(region: string): Promise<boolean | undefined> {
  try {
    // The AWS SDK's own region table (every client depends on @aws-sdk/core).
    const {partition} = (await import('@aws-sdk/core/client' as string)) as {
      partition?: (r: string) => {description?: string}
    }
    return partition ? partition(region).description !== undefined : undefined
  } catch {
    return undefined
  }
}

/** The profile is a section of ~/.aws/config (`[profile x]`, `[default]`) or ~/.aws/credentials (`[x]`). */
async function checkProfile(profile: string, label: string): Promise<void> {
  const configFile = process.env.AWS_CONFIG_FILE || join(homedir(), '.aws', 'config')
  const credentialsFile = process.env.AWS_SHARED_CREDENTIALS_FILE || join(homedir(), '.aws', 'credentials')
  const sections = async (file: string, prefixed: boolean): Promise<string[]> => {
    const text = await readFile(file, 'utf8').catch(() => '')
    return [...text.matchAll(/^\s*\[\s*([^\]]+?)\s*\]/gm)].flatMap(([, name]) => {
      const m = /^profile\s+(.+)$/.exec(name!)
      if (prefixed) return m ? [m[1]!.trim()] : name === 'default' ? ['default'] : []
      return [name!]
    })
  }
  const known = [...(await sections(configFile, true)), ...(await sections(credentialsFile, false))]
  if (!known.includes(profile)) {
    throw new CctError(`AWS profile "${profile}" (${label}) is not in ${configFile} or ${credentialsFile}`, {
      exitCode: ExitCode.Credentials,
      hint: known.length
        ? `Known profiles: ${[...new Set(known)].join(', ')}`
        : 'Run `aws configure --profile NAME` or `aws configure sso`',
    })
  }
}
