import {Flags} from '@oclif/core'

import {usageError} from '../errors.js'
import {functionFlags} from '../flags.js'
import type {CostResult} from '../json/results.js'
import type {CostReport} from '../services/cost.js'
import {StepCommand} from '../step-command.js'

export default class Cost extends StepCommand<typeof Cost> {
  static override summary =
    "The runbook's cost analysis from measured numbers: what the cache costs, what it saves, per month."
  static override description =
    'The cache (node type, nodes, engine, region) and any NAT gateway at list prices; DynamoDB read units and Lambda GB-seconds after setup against the same length of time before it, from CloudWatch, turned into dollars per month; then the net and the return. Each line says where its number came from. Read-only.'

  static override examples = [
    {description: 'Savings over the last 24 hours, extrapolated to a month', command: '<%= config.bin %> cost'},
    {
      description: 'From the last hour (e.g. right after setup and some traffic)',
      command: '<%= config.bin %> cost --hours 1',
    },
    {description: 'For scripts', command: '<%= config.bin %> cost --json'},
  ]

  static override flags = {
    ...functionFlags,
    hours: Flags.string({
      default: '24',
      summary: 'Hours of metrics after setup (and as many before it) to compare (fractions allowed).',
    }),
  }

  protected readonly targets = []

  override async run(): Promise<CostReport> {
    const hours = Number(this.flags.hours)
    if (!Number.isFinite(hours) || hours <= 0)
      throw usageError(`--hours must be a positive number, got "${this.flags.hours}"`, 'Pass e.g. --hours 24')
    const {costOfStack} = await import('../services/cost.js')
    const report = await this.withProgress(
      (onEvent) =>
        costOfStack({
          settings: this.awsSettings,
          options: this.options,
          signal: this.abortController.signal,
          hours,
          onEvent,
        }),
      {quiet: true},
    )
    const {table} = await import('../ui/table.js')
    const usd = (n?: number) => (n === undefined ? 'not yet' : `${n < 0 ? '-' : '+'}$${Math.abs(n).toFixed(2)}`)
    this.log(`Stack "${report.stack}" in ${report.region}: monthly cost and savings\n`)
    this.log(
      table(
        ['ITEM', 'PER MONTH', 'FROM'],
        report.lines.map((l) => [l.item, usd(l.monthlyUsd), l.source]),
      ),
    )
    this.log(
      `\nCost ${usd(-report.costUsd)}, savings ${usd(report.savingsUsd)}, net ${usd(report.netUsd)}${report.roi === undefined ? '' : `, return ×${report.roi}`} per month`,
    )
    if (report.savingsUsd === undefined)
      this.log('Savings need metrics from before setup to compare with; run again once there is traffic on both sides.')
    return report
  }

  protected override jsonResult({stack, region, ...result}: CostReport): CostResult {
    return result
  }
}
