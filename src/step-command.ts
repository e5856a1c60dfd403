import {Flags, type Command, type Interfaces} from '@oclif/core'

import {BaseCommand} from './base-command.js'
import type {StepId} from './engine/step.js'
import type {ConfigFile} from './config-file.js'
import {stepsResult} from './json/results.js'
import type {ConvergeReport} from './services/converge.js'
import {defaultOptions, type OptionSources, type StackOptions} from './options.js'
import type {RunListener} from './engine/events.js'
import {chooseProgress, PROGRESS_CHOICES, type ProgressChoice, type ProgressKind} from './ui/progress/index.js'

type AnyFlags = Interfaces.InferredFlags<typeof BaseCommand.baseFlags> & Record<string, unknown>

/**
 * A command that converges some steps: parse flags into stack options, run the steps
 * (or plan them with --dry-run), print the plan table or the result.
 */
export abstract class StepCommand<T extends typeof Command> extends BaseCommand<T> {
  static override baseFlags = {
    ...BaseCommand.baseFlags,
    progress: Flags.string({
      env: 'CCT_PROGRESS',
      helpGroup: 'GLOBAL',
      options: [...PROGRESS_CHOICES],
      default: 'auto',
      summary:
        'How steps show progress: auto (live on a terminal, one line per event in a pipe), plain, json (a JSON object per event, on stderr), none.',
    }),
  }

  protected abstract readonly targets: StepId[]

  protected get options(): StackOptions {
    return stackOptions(this.flags as unknown as AnyFlags, this.stackConfig, this.configFile)
  }

  /** What can be checked without AWS is checked before any AWS SDK is loaded: a typo costs no time. */
  public override async init(): Promise<void> {
    await super.init()
    const [{validateSettings}, {validateOptions}] = await Promise.all([
      import('./aws/settings.js'),
      import('./options.js'),
    ])
    await validateSettings(this.awsSettings)
    await validateOptions(this.options)
  }

  /**
   * How this run shows its steps' progress (--progress): `auto` is live on a terminal and
   * lines in a pipe, or nothing for a command whose own output says it all (`quiet`).
   */
  protected progressKind(options: {quiet?: boolean} = {}): ProgressKind {
    const choice = ((this.flags as unknown as AnyFlags).progress ?? 'auto') as ProgressChoice
    if (choice === 'auto' && options.quiet) return 'none'
    return chooseProgress({choice, json: this.jsonEnabled(), isTTY: process.stdout.isTTY})
  }

  /** Runs `work` with the progress display; what the command prints next comes after its last frame. */
  protected async withProgress<R>(
    work: (onEvent: RunListener | undefined) => Promise<R>,
    options: {quiet?: boolean} = {},
  ): Promise<R> {
    const {withProgress} = await import('./ui/progress/index.js')
    return withProgress(this.progressKind(options), work)
  }

  async run(): Promise<unknown> {
    const flags = this.flags as unknown as AnyFlags
    const {converge, prepare} = await import('./services/converge.js')
    const request = {
      targets: this.targets,
      settings: this.awsSettings,
      options: this.options,
      signal: this.abortController.signal,
    }
    let report: ConvergeReport
    if (flags['dry-run']) {
      report = await this.withProgress((onEvent) => converge({...request, mode: 'plan', onEvent}))
    } else {
      // Every step is inspected and planned before the first change, and that plan is the
      // one applied: a step's refusal (a function the layer cannot go on, --nat with the
      // user's subnets, a node type the region lacks) must not come after an earlier step changed things.
      const prepared = await prepare({...request, mode: 'apply'})
      // A function moved into the VPC must not silently lose what its environment reaches.
      const {lossesOf, lossRefusal} = await import('./ui/internet-loss.js')
      const losses = lossesOf(prepared.report)
      if (losses.length) throw lossRefusal(losses)
      // What cannot be undone (a cache moved to cluster mode) is asked about, with its plan and cost; --yes accepts.
      if (!flags.yes) {
        const {confirmOneWay} = await import('./ui/one-way.js')
        await confirmOneWay(
          prepared.report,
          !this.jsonEnabled() && Boolean(process.stdin.isTTY && process.stdout.isTTY),
        )
      }
      report = await this.withProgress((onEvent) => prepared.perform(onEvent))
    }
    const {formatReport, formatRunSummary} = await import('./ui/report.js')
    this.log(report.mode === 'plan' ? formatReport(report) : formatRunSummary(report))
    return report
  }

  /** What the steps did or would do, in the user's words; the run's notes become warnings. */
  protected override jsonResult(result: unknown): unknown {
    const report = result as ConvergeReport
    this.warnings.push(...report.notes)
    return stepsResult(report)
  }
}

/** The flag each option is read from (the config file's key is the option's own name). */
const FLAG_OF: Partial<Record<keyof StackOptions, string>> = {
  stack: 'stack',
  cidr: 'cidr',
  subnetPrefix: 'subnet-prefix',
  nat: 'nat',
  vpcId: 'vpc-id',
  subnetIds: 'subnet-ids',
  engine: 'engine',
  engineVersion: 'engine-version',
  nodeType: 'node-type',
  replicas: 'replicas',
  shards: 'shards',
  tls: 'tls',
  serverless: 'serverless',
  maxDataGb: 'max-data-gb',
  maxEcpu: 'max-ecpu',
  functions: 'functions',
  autoCache: 'auto-cache',
  autoCacheTtls: '',
  alarms: 'alarms',
}

/**
 * Flags beat the config file, which beats the defaults. Each value remembers where it
 * came from (`sources`), so a message about a value from the file names the file and its
 * key, not a flag the user never typed. A list flag given but empty (`--functions ''`) is
 * kept empty, and refused by validation, rather than read as "not given".
 */
export function stackOptions(flags: AnyFlags, config: ConfigFile, configFile = 'cct.json'): StackOptions {
  const list = (value: unknown) =>
    Array.isArray(value) ? (value as string[]).map((s) => s.trim()).filter(Boolean) : undefined
  const sources: OptionSources = {}
  const values: Partial<StackOptions> = {}
  const flagValue = (key: keyof StackOptions): unknown => {
    const flag = FLAG_OF[key]
    if (!flag) return undefined
    const value = flags[flag]
    return key === 'subnetIds' || key === 'functions' ? list(value) : value
  }
  // A VPC given by flag replaces the file's network choice (its CIDR was for a VPC cct makes).
  const fileIgnored = new Set<keyof StackOptions>(flags['vpc-id'] !== undefined ? ['cidr'] : [])
  for (const key of Object.keys(FLAG_OF) as (keyof StackOptions)[]) {
    const flag = flagValue(key)
    const file = fileIgnored.has(key) ? undefined : config[key as keyof ConfigFile]
    if (flag !== undefined) {
      ;(values as Record<string, unknown>)[key] = flag
      sources[key] = `--${FLAG_OF[key]}`
    } else if (file !== undefined) {
      ;(values as Record<string, unknown>)[key] = file
      sources[key] = `${configFile} "${key}"`
    }
  }
  return defaultOptions({
    ...values,
    ...(typeof flags.force === 'boolean' ? {force: flags.force} : {}),
    ...(typeof flags['wait-timeout'] === 'number' ? {waitTimeoutSeconds: flags['wait-timeout']} : {}),
    ...(process.env.CCT_POLL_INTERVAL_MS ? {pollIntervalMs: Number(process.env.CCT_POLL_INTERVAL_MS)} : {}),
    sources: {...sources, ...(typeof flags['wait-timeout'] === 'number' ? {waitTimeoutSeconds: '--wait-timeout'} : {})},
  })
}
