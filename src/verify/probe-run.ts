import {InvokeCommand} from '@aws-sdk/client-lambda'
import type {LambdaClient} from '@aws-sdk/client-lambda'

import {isAwsError} from '../aws/errors.js'

export type Hop = 'dns' | 'tcp' | 'tls' | 'auth' | 'command' | 'dynamodb' | 'layer'

/** One hop as the probe saw it from inside the VPC. */
export interface ProbeStage {
  stage: Hop
  ok: boolean
  ms?: number
  skipped?: boolean
  error?: string
  address?: string
  port?: number
  /** The AUTH reply. */
  reply?: string
  cipher?: string
  pingMs?: {p50: number; max: number}
  engine?: string
  version?: string
  ttl?: number
  tables?: number
  protocol?: string
  /** How many names the layer's helper exports (it loaded). */
  exports?: number
}

export interface ProbeRun {
  /** False when the probe could not be run at all (missing, crashed, timed out). */
  ran: boolean
  ok: boolean
  stages: ProbeStage[]
  /** Why it could not run, or which hop broke, and the likely cause and fix. */
  failure?: {hop?: Hop; message: string; cause: string; fix: string}
}

export interface ProbeTarget {
  host: string
  port: number
  tls: boolean
}

/** Invokes the stack's probe function and explains the first hop that broke. */
export async function runProbe(lambda: LambdaClient, functionName: string, target: ProbeTarget): Promise<ProbeRun> {
  let answer
  try {
    answer = await lambda.send(
      new InvokeCommand({FunctionName: functionName, Payload: Buffer.from(JSON.stringify(target))}),
    )
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFoundException')) {
      return {
        ran: false,
        ok: false,
        stages: [],
        failure: {
          message: `the probe function ${functionName} does not exist`,
          cause: 'the stack was set up before cct had a probe, or it was deleted',
          fix: 'cct setup',
        },
      }
    }
    throw error
  }
  const text = Buffer.from(answer.Payload ?? []).toString('utf8')
  if (answer.FunctionError) {
    const {errorMessage = text} = safeJson<{errorMessage?: string}>(text) ?? {}
    return {
      ran: false,
      ok: false,
      stages: [],
      failure: {
        message: `the probe failed: ${errorMessage}`,
        cause: /timed out/i.test(errorMessage)
          ? "a hop hung past the probe's timeout"
          : 'the probe could not run in its VPC',
        fix: 'cct setup',
      },
    }
  }
  const result = safeJson<{ok: boolean; stages: ProbeStage[]}>(text)
  if (!result || !Array.isArray(result.stages)) {
    return {
      ran: false,
      ok: false,
      stages: [],
      failure: {
        message: `the probe answered something unexpected: ${text.slice(0, 200)}`,
        cause: 'an old or foreign probe function',
        fix: 'cct setup',
      },
    }
  }
  const broken = result.stages.find((s) => !s.ok && !s.skipped)
  return {ran: true, ok: !broken, stages: result.stages, failure: broken ? diagnose(broken, target) : undefined}
}

/** The likely cause of a broken hop, and the command that repairs it. */
export function diagnose(stage: ProbeStage, target: ProbeTarget): NonNullable<ProbeRun['failure']> {
  const error = stage.error ?? 'failed'
  const timedOut = /ETIMEDOUT|no answer within/.test(error)
  const at = `${target.host}:${target.port}`
  switch (stage.stage) {
    case 'dns':
      return {
        hop: 'dns',
        message: `${target.host} does not resolve inside the VPC (${error})`,
        cause: 'the cache was deleted or renamed, or the VPC has DNS resolution turned off',
        fix: 'cct cluster',
      }
    case 'tcp':
      return timedOut
        ? {
            hop: 'tcp',
            message: `no TCP answer from ${at} (${error})`,
            cause: `the cache security group does not admit the lambda group on ${target.port}`,
            fix: 'cct sg',
          }
        : {
            hop: 'tcp',
            message: `${at} refused the connection (${error})`,
            cause: 'nothing listens on that port: the cache is not available, or the port is wrong',
            fix: 'cct cluster',
          }
    case 'tls':
      return {
        hop: 'tls',
        message: `TLS handshake with ${at} failed (${error})`,
        cause: 'TLS mismatch: the cache does not have in-transit encryption, or presents another name',
        fix: 'cct cluster',
      }
    case 'auth':
      return {
        hop: 'auth',
        message: `AUTH was refused (${error})`,
        cause: 'the cache expects another token',
        fix: 'cct env',
      }
    case 'command':
      return {
        hop: 'command',
        message: `the cache did not answer commands (${error})`,
        cause:
          timedOut && !target.tls
            ? 'TLS mismatch: the cache may expect TLS while the client speaks plain TCP'
            : 'the cache is overloaded, read-only, or refuses these commands',
        fix: timedOut && !target.tls ? 'cct cluster' : 'cct status',
      }
    case 'dynamodb':
      return timedOut
        ? {
            hop: 'dynamodb',
            message: `DynamoDB did not answer from the subnets (${error})`,
            cause:
              'the route table has no DynamoDB gateway endpoint (or NAT route): every cache miss would hang until the function times out',
            fix: 'cct vpc',
          }
        : {
            hop: 'dynamodb',
            message: `DynamoDB refused the probe's read (${error})`,
            cause: "the probe's role lacks dynamodb:ListTables, or an endpoint policy denies it",
            fix: 'cct setup',
          }
    case 'layer':
      return {
        hop: 'layer',
        message: `the cct layer did not load (${error})`,
        cause: 'the layer is missing from the probe or was built for another runtime',
        fix: 'cct layer',
      }
  }
}

function safeJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T
  } catch {
    return undefined
  }
}
