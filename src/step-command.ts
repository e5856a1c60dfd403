import type {Command, Interfaces} from '@oclif/core'

import {BaseCommand} from './base-command.js'
import type {StepId} from './engine/step.js'
import {defaultOptions, type StackOptions} from './options.js'
import type {ConvergeReport} from './services/converge.js'

type AnyFlags = Interfaces.InferredFlags<typeof BaseCommand.baseFlags> & Record<string, unknown>

/**
 * A command that converges some steps: parse flags into stack options, run the steps
 * (or plan them with --dry-run), print the plan table or the result.
 */
export abstract class StepCommand<T extends typeof Command> extends BaseCommand<T> {
  protected abstract readonly targets: StepId[]

  async run(): Promise<ConvergeReport> {
    const flags = this.flags as unknown as AnyFlags
    const {converge} = await import('./services/converge.js')
    const report = await converge({
      targets: this.targets,
      mode: flags['dry-run'] ? 'plan' : 'apply',
      settings: this.awsSettings,
      options: stackOptions(flags),
      renderer: this.renderer,
      signal: this.abortController.signal,
    })
    const {formatReport} = await import('./ui/report.js')
    this.log(formatReport(report))
    return report
  }
}

export function stackOptions(flags: AnyFlags): StackOptions {
  const subnetIds = flags['subnet-ids'] as string[] | undefined
  return defaultOptions({
    stack: flags.stack,
    ...(typeof flags.cidr === 'string' ? {cidr: flags.cidr} : {}),
    ...(typeof flags['subnet-prefix'] === 'number' ? {subnetPrefix: flags['subnet-prefix']} : {}),
    ...(typeof flags['vpc-id'] === 'string' ? {vpcId: flags['vpc-id']} : {}),
    ...(subnetIds?.length ? {subnetIds: subnetIds.map((s) => s.trim()).filter(Boolean)} : {}),
    ...(typeof flags.engine === 'string' ? {engine: flags.engine as StackOptions['engine']} : {}),
    ...(typeof flags['engine-version'] === 'string' ? {engineVersion: flags['engine-version']} : {}),
    ...(typeof flags['node-type'] === 'string' ? {nodeType: flags['node-type']} : {}),
    ...(typeof flags.replicas === 'number' ? {replicas: flags.replicas} : {}),
    ...(typeof flags.tls === 'boolean' ? {tls: flags.tls} : {}),
    ...(Array.isArray(flags.functions) && flags.functions.length ? {functions: (flags.functions as string[]).map((f) => f.trim()).filter(Boolean)} : {}),
    ...(typeof flags.force === 'boolean' ? {force: flags.force} : {}),
    ...(typeof flags['wait-timeout'] === 'number' ? {waitTimeoutSeconds: flags['wait-timeout']} : {}),
    ...(process.env.CCT_POLL_INTERVAL_MS ? {pollIntervalMs: Number(process.env.CCT_POLL_INTERVAL_MS)} : {}),
  })
}
