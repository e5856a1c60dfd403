import {Flags, type Command, type Interfaces} from '@oclif/core'

import {BaseCommand} from './base-command.js'
import type {StepId} from './engine/step.js'
import type {ConfigFile} from './config-file.js'
import {stepsResult} from './json/results.js'
import type {ConvergeReport} from './services/converge.js'
import {defaultOptions, type StackOptions} from './options.js'
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
    return stackOptions(this.flags as unknown as AnyFlags, this.stackConfig)
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
    const {converge} = await import('./services/converge.js')
    const report = await this.withProgress((onEvent) =>
      converge({
        targets: this.targets,
        mode: flags['dry-run'] ? 'plan' : 'apply',
        settings: this.awsSettings,
        options: this.options,
        onEvent,
        signal: this.abortController.signal,
      }),
    )
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

/** Flags beat the config file, which beats the defaults. */
export function stackOptions(flags: AnyFlags, config: ConfigFile): StackOptions {
  const list = (value: unknown) =>
    Array.isArray(value) && value.length ? (value as string[]).map((s) => s.trim()).filter(Boolean) : undefined
  const pick = <K extends keyof StackOptions>(key: K, flag: unknown): Partial<StackOptions> => {
    const value = flag ?? config[key as keyof ConfigFile]
    return value === undefined ? {} : ({[key]: value} as Partial<StackOptions>)
  }
  return defaultOptions({
    ...pick('stack', flags.stack),
    ...pick('cidr', flags.cidr),
    ...pick('subnetPrefix', flags['subnet-prefix']),
    ...pick('nat', flags.nat),
    ...pick('vpcId', flags['vpc-id']),
    ...pick('subnetIds', list(flags['subnet-ids'])),
    ...pick('engine', flags.engine),
    ...pick('engineVersion', flags['engine-version']),
    ...pick('nodeType', flags['node-type']),
    ...pick('replicas', flags.replicas),
    ...pick('tls', flags.tls),
    ...pick('functions', list(flags.functions)),
    ...pick('autoCache', flags['auto-cache']),
    ...pick('autoCacheTtls', undefined),
    ...pick('alarms', flags.alarms),
    ...(typeof flags.force === 'boolean' ? {force: flags.force} : {}),
    ...(typeof flags['wait-timeout'] === 'number' ? {waitTimeoutSeconds: flags['wait-timeout']} : {}),
    ...(process.env.CCT_POLL_INTERVAL_MS ? {pollIntervalMs: Number(process.env.CCT_POLL_INTERVAL_MS)} : {}),
  })
}
