import {Command, Flags, type Interfaces} from '@oclif/core'

import {timeoutsFromEnv, type AwsSettings} from './aws/settings.js'
import {readConfig, DEFAULT_CONFIG_FILE, type ConfigFile} from './config-file.js'
import {CctError, ExitCode, explainAwsError} from './errors.js'
import {exitOnInterrupt} from './interrupt.js'
import {envelope} from './json/envelope.js'
import {DEFAULT_STACK} from './options.js'
import {validateStackName} from './stack-name.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>

/**
 * What every cct command shares: AWS location flags resolved as the AWS CLI does, the
 * stack, --yes, --dry-run and --json; and one way of reporting errors (one line with
 * the fix, a documented exit code, no stack trace unless DEBUG asks). With --json, success
 * and failure alike print one envelope (src/json/envelope.ts) on stdout and nothing else.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    region: Flags.string({
      env: 'AWS_REGION',
      helpGroup: 'AWS',
      summary: 'AWS region (default: AWS_REGION, then your profile).',
    }),
    profile: Flags.string({
      env: 'AWS_PROFILE',
      helpGroup: 'AWS',
      summary: 'Named profile from ~/.aws/config (SSO included).',
    }),
    'endpoint-url': Flags.string({
      env: 'AWS_ENDPOINT_URL',
      helpGroup: 'AWS',
      summary: 'Send AWS calls here (the local sandbox, LocalStack).',
    }),
    stack: Flags.string({
      helpGroup: 'GLOBAL',
      summary: 'Prefix of every name cct creates, and the tag that finds them again (default cct).',
    }),
    config: Flags.string({
      env: 'CCT_CONFIG',
      helpGroup: 'GLOBAL',
      summary: 'Settings saved by `cct setup` (default ./cct.json when it exists); flags win over it.',
    }),
    yes: Flags.boolean({
      char: 'y',
      default: false,
      helpGroup: 'GLOBAL',
      summary: 'Answer yes to confirmations; never ask.',
    }),
    'dry-run': Flags.boolean({default: false, helpGroup: 'GLOBAL', summary: 'Show the plan; make no change.'}),
  }

  protected flags!: BaseFlags<T>
  /** What `cct setup` saved; flags win over it. */
  protected stackConfig: ConfigFile = {}
  protected abortController = new AbortController()
  /** Notes for the envelope's `warnings` (a person reads them in the command's own output). */
  protected warnings: string[] = []
  /** Set by `fail()`: the command has a result to print and still failed. */
  private failure?: CctError
  /** An error was printed (once: an interrupt's forced exit must not print it again). */
  private reported = false

  public override async init(): Promise<void> {
    await super.init()
    // Ctrl-C and SIGTERM stop cct at once (exit 130), whatever it is doing.
    exitOnInterrupt({controller: this.abortController, report: (error) => this.report(error)})
    refuseContradictions(this.argv, {...(this.ctor as typeof BaseCommand).baseFlags, ...this.ctor.flags})
    const {flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (this.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.stackConfig = await readConfig(
      this.flags.config ?? DEFAULT_CONFIG_FILE,
      this.flags.config !== undefined && this.configMustExist,
    )
    validateStackName(
      this.stack,
      this.flags.stack === undefined && this.stackConfig.stack !== undefined ? `${this.configFile} "stack"` : undefined,
    )
  }

  /** The config file read (or that would be): for messages about its values. */
  protected get configFile(): string {
    return this.flags?.config ?? DEFAULT_CONFIG_FILE
  }

  /** A --config that names a missing file is an error, except where the command writes it. */
  protected get configMustExist(): boolean {
    return true
  }

  protected get stack(): string {
    return this.flags.stack ?? this.stackConfig.stack ?? DEFAULT_STACK
  }

  protected get awsSettings(): AwsSettings {
    // A value oclif read from the environment is named by its variable, one from cct.json by its key.
    const typed = (flag: string) => this.argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`))
    const label = (
      key: 'region' | 'profile' | 'endpoint',
      flag: string,
      variable: string,
      value: string | undefined,
    ) =>
      value === undefined || typed(flag)
        ? {}
        : {[key]: process.env[variable] === value ? variable : `${this.configFile} "${key}"`}
    return {
      region: this.flags.region ?? this.stackConfig.region,
      profile: this.flags.profile ?? this.stackConfig.profile,
      endpoint: this.flags['endpoint-url'],
      ...timeoutsFromEnv(),
      labels: {
        ...label('region', 'region', 'AWS_REGION', this.flags.region ?? this.stackConfig.region),
        ...label('profile', 'profile', 'AWS_PROFILE', this.flags.profile ?? this.stackConfig.profile),
        ...label('endpoint', 'endpoint-url', 'AWS_ENDPOINT_URL', this.flags['endpoint-url']),
      },
    }
  }

  /**
   * The command has a result worth printing and still failed (`cct verify` with a failed
   * check): with --json the envelope carries both the result and the error, with the
   * error's exit code; without, the error is thrown as any other.
   */
  protected fail(error: CctError): void {
    if (!this.jsonEnabled()) throw error
    this.failure = error
    process.exitCode = error.exitCode
  }

  /** What goes in the envelope's `result`, from what run() returned; commands shape it. */
  protected jsonResult(result: unknown): unknown {
    return result
  }

  /** oclif's hook for what run() returned with --json: our envelope instead of the bare value. */
  protected override toSuccessJson(result: unknown): ReturnType<typeof envelope> {
    const region = (result as {region?: unknown} | undefined)?.region
    const shaped = this.jsonResult(result) // may add warnings
    return envelope({
      command: this.id ?? '',
      stack: this.knownStack(),
      region: typeof region === 'string' ? region : this.knownRegion(),
      result: shaped,
      warnings: this.warnings,
      error: this.failure,
    })
  }

  /** With --json, oclif's warnings (deprecated flags, ...) go into the envelope instead of stderr. */
  public override warn(input: string | Error): string | Error {
    if (this.jsonEnabled()) this.warnings.push(typeof input === 'string' ? input : input.message)
    else super.warn(input)
    return input
  }

  protected override async catch(err: Error & {oclif?: {exit?: number}; code?: string}): Promise<unknown> {
    if (err.code === 'EEXIT') throw err
    // oclif's parser errors carry exit 2; everything else is ours or AWS's.
    const error =
      err.oclif?.exit === 2
        ? new CctError(parserMessage(err.message), {exitCode: ExitCode.Usage, hint: `See \`cct ${this.id} --help\``})
        : explainAwsError(this.abortController.signal.aborted ? this.abortController.signal.reason : err)
    this.report(error)
    return this.exit(error.exitCode)
  }

  /** Prints an error once: one line on stderr, or the --json envelope on stdout. */
  private report(error: CctError): void {
    if (this.reported) return
    this.reported = true
    if (this.jsonEnabled()) {
      this.logJson(
        envelope({
          command: this.id ?? '',
          stack: this.knownStack(),
          region: this.knownRegion(),
          result: null,
          warnings: this.warnings,
          error,
        }),
      )
    } else {
      process.stderr.write(`✖ ${error.line}\n`)
      if (process.env.DEBUG) process.stderr.write(`${(error.cause as Error | undefined)?.stack ?? error.stack}\n`)
    }
  }

  /** The stack, when the flags were parsed far enough to know it (a bad flag stops earlier). */
  private knownStack(): string | null {
    return this.flags ? this.stack : null
  }

  /** The region asked for by flag, AWS_REGION or cct.json; a profile's region is only known after the AWS client resolved it. */
  private knownRegion(): string | null {
    return (this.flags && this.awsSettings.region) || null
  }
}

/**
 * oclif's parser error as one line with its reason: "Parsing --replicas\n\tExpected an
 * integer but received: abc\nSee more help with --help" becomes "--replicas: Expected an
 * integer but received: abc".
 */
export function parserMessage(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.replace(/^Error:\s*/, '').trim())
    .filter((l) => l && !/^See more help with/.test(l) && !/^The following errors? occurred:$/.test(l))
  const parsing = /^Parsing (--[\w-]+)$/.exec(lines[0] ?? '')
  if (parsing && lines.length > 1) return `${parsing[1]}: ${lines.slice(1).join('; ')}`
  return lines.join('; ')
}

/**
 * `--tls --no-tls` (and any flag given both ways) is a contradiction, refused: oclif
 * would let the last one win silently.
 */
function refuseContradictions(
  argv: readonly string[],
  flags: Record<string, {type?: string; allowNo?: boolean}>,
): void {
  for (const [name, flag] of Object.entries(flags)) {
    if (flag.type !== 'boolean' || !flag.allowNo) continue
    if (argv.includes(`--${name}`) && argv.includes(`--no-${name}`)) {
      throw new CctError(`--${name} and --no-${name} contradict each other`, {
        exitCode: ExitCode.Usage,
        hint: `Pass one of them`,
      })
    }
  }
}
