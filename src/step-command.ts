import type {Command, Interfaces} from '@oclif/core'

import {BaseCommand} from './base-command.js'
import type {StepId} from './engine/step.js'
import type {ConfigFile} from './config-file.js'
import {stepsResult} from './json/results.js'
import type {ConvergeReport} from './services/converge.js'
import {defaultOptions, type StackOptions} from './options.js'

type AnyFlags = Interfaces.InferredFlags<typeof BaseCommand.baseFlags> & Record<string, unknown>

/**
 * A command that converges some steps: parse flags into stack options, run the steps
 * (or plan them with --dry-run), print the plan table or the result.
 */
export abstract class StepCommand<T extends typeof Command> extends BaseCommand<T> {
  protected abstract readonly targets: StepId[]

  protected get options(): StackOptions {
    return stackOptions(this.flags as unknown as AnyFlags, this.stackConfig)
  }

  async run(): Promise<unknown> {
    const flags = this.flags as unknown as AnyFlags
    const {converge} = await import('./services/converge.js')
    const report = await converge({
      targets: this.targets,
      mode: flags['dry-run'] ? 'plan' : 'apply',
      settings: this.awsSettings,
      options: this.options,
      renderer: this.renderer,
      signal: this.abortController.signal,
    })
    const {formatReport} = await import('./ui/report.js')
    this.log(formatReport(report))
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
  const list = (value: unknown) => (Array.isArray(value) && value.length ? (value as string[]).map((s) => s.trim()).filter(Boolean) : undefined)
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
