import {readFile} from 'node:fs/promises'

import {Flags} from '@oclif/core'

import {CctError, ExitCode, usageError} from '../errors.js'
import {functionFlags} from '../flags.js'
import type {VerifyResult} from '../json/results.js'
import type {VerifyReport} from '../services/verify.js'
import {StepCommand} from '../step-command.js'

export default class Verify extends StepCommand<typeof Verify> {
  static override summary =
    "Prove the cache serves the functions: from inside the VPC, along each function's path, against the runbook's success criteria."
  static override description = `ElastiCache answers only inside its VPC, so verify invokes the stack's probe function (${'<stack>'}-probe, in the stack's subnets with the functions' security group) and reports each hop on its own: DNS, TCP, TLS, AUTH, command, DynamoDB. A broken hop is named with its likely cause and the command that fixes it.

Then each function's own path (VPC, security group admitted by the cache group, route to DynamoDB, current layer, REDIS_* env, aliases that receive traffic) and the runbook's success criteria, measured from CloudWatch: hit rate, p95 Duration, DynamoDB read units after setup against the same time before. "not yet" means there is not enough data; it is not a failure.

verify changes nothing; it invokes only the probe, and your functions when you pass --traffic.`

  static override examples = [
    {
      description: 'The probe, every function, and the criteria over the last 24 hours',
      command: '<%= config.bin %> verify',
    },
    {
      description: 'Send 20 requests to each function first (an API Gateway GET of /), then measure the last hour',
      command: '<%= config.bin %> verify --traffic 20 --hours 1',
    },
    {
      description: 'Your own event for --traffic',
      command: '<%= config.bin %> verify --traffic 5 --event get-article.json',
    },
    {
      description: 'Also try the endpoint through a tunnel you opened',
      command: '<%= config.bin %> verify --redis-url rediss://localhost:6380',
    },
    {description: 'Machine-readable report', command: '<%= config.bin %> verify --json'},
  ]

  static override flags = {
    ...functionFlags,
    hours: Flags.string({default: '24', summary: 'Hours of metrics to judge (fractions allowed, e.g. 0.5).'}),
    target: Flags.integer({
      default: 80,
      min: 1,
      max: 100,
      summary: 'Hit rate target in percent (the runbook aims for 80).',
    }),
    traffic: Flags.integer({
      summary:
        'Invoke each function N times first and report errors, cold starts and Duration (opt-in: it runs your code).',
    }),
    event: Flags.string({
      summary: 'JSON file with the event --traffic sends (default: an API Gateway HTTP API GET of /).',
      dependsOn: ['traffic'],
    }),
    'redis-url': Flags.string({
      env: 'CCT_REDIS_URL',
      summary: 'redis:// or rediss:// URL that reaches the cache from here (a tunnel); its password is never printed.',
    }),
  }

  protected readonly targets = []

  override async run(): Promise<VerifyReport> {
    const hours = Number(this.flags.hours)
    if (!Number.isFinite(hours) || hours <= 0)
      throw usageError(`--hours must be a positive number, got "${this.flags.hours}"`, 'Pass e.g. --hours 24')
    if (this.flags['redis-url'] !== undefined) checkRedisUrl(this.flags['redis-url'])
    const event = this.flags.event === undefined ? undefined : await readEvent(this.flags.event)
    const {verifyStack} = await import('../services/verify.js')
    const report = await this.withProgress(
      (onEvent) =>
        verifyStack({
          onEvent,
          settings: this.awsSettings,
          options: this.options,
          signal: this.abortController.signal,
          redisUrl: this.flags['redis-url'],
          hours,
          target: this.flags.target / 100,
          traffic: this.flags.traffic,
          event,
          onProgress: this.jsonEnabled()
            ? undefined
            : (m) => process.stderr.write(process.stderr.isTTY ? `\r\x1b[2K${m}` : ''),
        }),
      {quiet: true},
    )
    if (!this.jsonEnabled() && process.stderr.isTTY) process.stderr.write('\r\x1b[2K')
    const {formatVerifyReport} = await import('../ui/verify-report.js')
    this.log(formatVerifyReport(report, {hours, trends: Boolean(process.stdout.isTTY)}))
    if (!report.ok) {
      // With --json the report is still printed, in an envelope with ok: false and this error.
      const {firstFailure} = await import('../ui/verify-report.js')
      const failure = firstFailure(report)
      this.fail(new CctError(failure.message, {exitCode: ExitCode.Verification, hint: failure.hint}))
    }
    return report
  }

  protected override jsonResult({stack, region, ...result}: VerifyReport): VerifyResult {
    return result
  }
}

/** A redis:// or rediss:// URL with a host and a port AWS could listen on; its password is never repeated. */
export function checkRedisUrl(text: string): void {
  const source =
    process.argv.includes('--redis-url') || process.argv.some((a) => a.startsWith('--redis-url='))
      ? '--redis-url'
      : 'CCT_REDIS_URL'
  const shown = text.replace(/\/\/[^@/]*@/, '//***@')
  const port = /^[a-z]+:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/]*):(\d+)/i.exec(text)?.[1]
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw usageError(
      `${source} ${shown}: port ${port} is outside 1-65535`,
      'ElastiCache listens on 6379; pass the port your tunnel listens on',
    )
  }
  let url: URL | undefined
  try {
    url = new URL(text)
  } catch {
    url = undefined
  }
  if (!url || !['redis:', 'rediss:'].includes(url.protocol) || !url.hostname) {
    throw usageError(
      `${source} ${shown} is not a redis:// or rediss:// URL`,
      'Pass e.g. rediss://localhost:6380 (rediss for a cache with TLS)',
    )
  }
}

async function readEvent(file: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    throw usageError(`--event ${file} cannot be read`, 'Pass the path of a JSON file with the event to send')
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw usageError(
      `--event ${file} is not JSON (${(error as Error).message})`,
      'Fix the file, or leave --event out to send an API Gateway GET of /',
    )
  }
}
