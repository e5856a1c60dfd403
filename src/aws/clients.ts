import type {CloudWatchClient} from '@aws-sdk/client-cloudwatch'
import type {EC2Client} from '@aws-sdk/client-ec2'
import type {DynamoDBClient} from '@aws-sdk/client-dynamodb'
import type {ElastiCacheClient} from '@aws-sdk/client-elasticache'
import type {IAMClient} from '@aws-sdk/client-iam'
import type {LambdaClient} from '@aws-sdk/client-lambda'
import type {PricingClient} from '@aws-sdk/client-pricing'
import type {SNSClient} from '@aws-sdk/client-sns'
import type {STSClient} from '@aws-sdk/client-sts'

import {CctError, ExitCode} from '../errors.js'
import {iamAction} from '../policy.js'
import {CallLog} from './call-log.js'
import {lambdaPacer} from './pace.js'
import {patientWhenThrottled, THROTTLED_ATTEMPTS, type RetryStrategy} from './retry.js'
import {DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, validateSettings, type AwsSettings} from './settings.js'

export const PRICE_LIST_REGION = 'us-east-1'

interface SdkClient {
  config: {region: () => Promise<string>}
  middlewareStack: {
    add: (mw: any, options: {step: 'initialize' | 'finalizeRequest'; name: string; priority?: 'normal'}) => void
  }
}

/**
 * One lazily created SDK client per service, all sharing region, profile, endpoint and
 * the call log. The SDK packages are imported on first use, so commands that never talk
 * to AWS (--help, --version) never load them. Through ./sdk/<service>.js, which name the
 * client class alone: a dynamic import of the package itself is its whole namespace, which
 * kept every command and the aggregated client (EC2's 823 methods, built at load) in the
 * bundle.
 */
export class AwsClients {
  readonly log: CallLog
  private readonly cache = new Map<string, Promise<unknown>>()
  private checked?: Promise<void>

  constructor(
    readonly settings: AwsSettings,
    log?: CallLog,
    /** Once aborted (Ctrl-C), no further call starts: what exists stays tagged and consistent. */
    private readonly signal?: AbortSignal,
  ) {
    this.log = log ?? new CallLog()
  }

  ec2(): Promise<EC2Client> {
    return this.client('ec2', async () => new (await import('./sdk/ec2.js')).EC2Client(this.options()))
  }

  /** EC2 without the SDK's retries: for creates without an idempotency token (see createOnce). */
  ec2Once(): Promise<EC2Client> {
    return this.client('ec2', async () => new (await import('./sdk/ec2.js')).EC2Client(this.options(1)), 'ec2-once')
  }

  elasticache(): Promise<ElastiCacheClient> {
    return this.client(
      'elasticache',
      async () => new (await import('./sdk/elasticache.js')).ElastiCacheClient(this.options()),
    )
  }

  /**
   * Lambda throttles its control plane per account: each attempt waits its turn at Lambda's
   * rates (pace.ts), and what is refused anyway (another caller spent the budget) is retried
   * with backoff and more patience with refusals (retry.ts). Standard retries, not adaptive:
   * the pacer keeps the rate, and one refusal made the adaptive mode slow every request of
   * the client for seconds (fifty functions' GetFunction polls, whose own quota had room).
   */
  lambda(): Promise<LambdaClient> {
    return this.client('lambda', async () => {
      const options = this.options()
      const client = new (await import('./sdk/lambda.js')).LambdaClient({
        ...options,
        retryMode: 'standard',
        maxAttempts: Math.max(options.maxAttempts, THROTTLED_ATTEMPTS),
      })
      // The SDK made its strategy from the options above; each call asks the config for it.
      const standard = (await client.config.retryStrategy()) as unknown as RetryStrategy
      const patient = patientWhenThrottled(standard, options.maxAttempts)
      ;(client.config as {retryStrategy: () => Promise<unknown>}).retryStrategy = async () => patient
      return this.pacedLambda(client)
    })
  }

  /** Lambda without the SDK's retries: for PublishLayerVersion, which has no idempotency token (see createOnce). */
  lambdaOnce(): Promise<LambdaClient> {
    return this.client(
      'lambda',
      async () => this.pacedLambda(new (await import('./sdk/lambda.js')).LambdaClient(this.options(1))),
      'lambda-once',
    )
  }

  /** Both Lambda clients spend the same quotas: one pacer for the run. */
  private readonly lambdaPace = lambdaPacer()

  /** Each attempt waits for its turn: in finalizeRequest after the retry middleware (priority high). */
  private pacedLambda(client: LambdaClient): LambdaClient {
    ;(client as unknown as SdkClient).middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: {commandName?: string}) => async (args: unknown) => {
        const operation = (context.commandName ?? '').replace(/Command$/, '')
        await this.lambdaPace.take(operation)
        try {
          return await next(args)
        } catch (error) {
          if ((error as {name?: string}).name === 'TooManyRequestsException') this.lambdaPace.refused(operation)
          throw error
        }
      },
      {step: 'finalizeRequest', name: 'cctLambdaPace', priority: 'normal'},
    )
    return client
  }

  iam(): Promise<IAMClient> {
    return this.client('iam', async () => new (await import('./sdk/iam.js')).IAMClient(this.options()))
  }

  sts(): Promise<STSClient> {
    return this.client('sts', async () => new (await import('./sdk/sts.js')).STSClient(this.options()))
  }

  dynamodb(): Promise<DynamoDBClient> {
    return this.client('dynamodb', async () => new (await import('./sdk/dynamodb.js')).DynamoDBClient(this.options()))
  }

  sns(): Promise<SNSClient> {
    return this.client('sns', async () => new (await import('./sdk/sns.js')).SNSClient(this.options()))
  }

  cloudwatch(): Promise<CloudWatchClient> {
    return this.client(
      'cloudwatch',
      async () => new (await import('./sdk/cloudwatch.js')).CloudWatchClient(this.options()),
    )
  }

  /**
   * The Price List API answers only in us-east-1 (and eu-central-1, ap-south-1), whatever
   * the stack's region; the endpoint override and profile apply as to every client. Prices
   * are optional (an offline table stands in), so a slow or unreachable API is given up
   * on quickly: short timeouts, one retry.
   */
  pricing(): Promise<PricingClient> {
    return this.client('pricing', async () => {
      const {PricingClient} = await import('./sdk/pricing.js')
      return new PricingClient({
        ...this.options(),
        region: PRICE_LIST_REGION,
        maxAttempts: 2,
        requestHandler: {connectionTimeout: 2000, socketTimeout: 4000},
      })
    })
  }

  /**
   * The region every client uses; a clear error when none can be found. The first thing
   * every service asks, so it checks the settings (endpoint, region, profile) first.
   */
  async region(): Promise<string> {
    this.checked ??= validateSettings(this.settings)
    await this.checked
    const {region} = this.settings
    if (region !== undefined) return region
    const sts = (await this.sts()) as unknown as SdkClient
    try {
      return await sts.config.region()
    } catch {
      throw new CctError('No AWS region is set', {
        exitCode: ExitCode.Credentials,
        hint: 'Pass --region, set AWS_REGION, or set a region in your AWS profile',
      })
    }
  }

  /**
   * Every call has a connect timeout and a request timeout (seconds without an answer:
   * an endpoint that accepts and never answers fails instead of hanging); the SDK's
   * logger prints its warnings as one line and nothing else.
   */
  private options(attempts?: number) {
    const {region, profile, endpoint, connectTimeoutMs, requestTimeoutMs} = this.settings
    const maxAttempts = attempts ?? this.settings.maxAttempts
    return {
      ...(region ? {region} : {}),
      ...(profile ? {profile} : {}),
      ...(endpoint ? {endpoint} : {}),
      maxAttempts: maxAttempts ?? 4,
      requestHandler: {
        connectionTimeout: connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        socketTimeout: requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      },
      logger: sdkLogger,
    }
  }

  private client<T>(service: string, create: () => Promise<T>, key = service): Promise<T> {
    let pending = this.cache.get(key) as Promise<T> | undefined
    if (!pending) {
      pending = create().then((client) => {
        ;(client as unknown as SdkClient).middlewareStack.add(
          (next: (args: unknown) => Promise<unknown>, context: {commandName?: string}) => async (args: unknown) => {
            const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '')
            if (this.signal?.aborted) throw this.signal.reason
            this.log.record(service, operation)
            try {
              // An interrupt does not wait for a call in flight (it may never answer).
              return await (this.signal ? untilAborted(next(args), this.signal) : next(args))
            } catch (error) {
              // The IAM action, so an AccessDenied can name what to grant.
              if (error && typeof error === 'object')
                (error as {cctAction?: string}).cctAction ??= iamAction(service, operation)
              throw error
            }
          },
          {step: 'initialize', name: 'cctCallLog'},
        )
        return client
      })
      this.cache.set(key, pending)
    }
    return pending
  }
}

/** `work`, or the signal's reason as soon as it is aborted, whichever comes first. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, {once: true})
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

const printed = new Set<string>()

/**
 * The SDK's logger: its info and debug (every request) are dropped; a warning (e.g.
 * "Multiple credential sources detected", nine lines) becomes one line on stderr, once.
 */
export const sdkLogger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (...content: unknown[]) => {
    const text = content
      .map((c) => (typeof c === 'string' ? c : c instanceof Error ? c.message : JSON.stringify(c)))
      .join(' ')
    const line = oneLine(text)
    if (!line || printed.has(line)) return
    printed.add(line)
    process.stderr.write(`⚠ AWS SDK: ${line}\n`)
  },
  error: () => {},
}

/** A multi-line SDK warning as one line: its source prefix dropped, its first two sentences kept. */
export function oneLine(text: string): string {
  const flat = text
    .replace(/^@[\w/-]+\s+-\s+[\w:]+\s+WARNING:\s*/i, '')
    .replace(/\s+/g, ' ')
    .trim()
  const sentences = flat.match(/[^.]+\.(\s|$)/g)
  return sentences ? sentences.slice(0, 2).join('').trim() : flat
}
