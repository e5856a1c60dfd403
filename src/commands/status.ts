import {cacheFlags, functionFlags, networkFlags} from '../flags.js'
import type {StatusResult} from '../json/results.js'
import type {StatusRow} from '../services/status.js'
import {StepCommand} from '../step-command.js'

export default class Status extends StepCommand<typeof Status> {
  static override summary = 'One table of every resource of the stack: present, missing or drifted (and how).'
  static override examples = [
    {description: 'What exists of the stack', command: '<%= config.bin %> status'},
    {description: 'For scripts', command: '<%= config.bin %> status --json'},
  ]

  static override flags = {...networkFlags, ...cacheFlags, ...functionFlags}
  protected readonly targets = []

  override async run(): Promise<{stack: string; region: string; resources: StatusRow[]}> {
    const {stackStatus} = await import('../services/stack.js')
    const {report, rows} = await stackStatus({settings: this.awsSettings, options: this.options, renderer: 'silent', signal: this.abortController.signal})
    const {table} = await import('../ui/table.js')
    const counts = (['present', 'missing', 'drifted'] as const).map((s) => `${rows.filter((r) => r.state === s).length} ${s}`).join(', ')
    this.log(`Stack "${report.stack}" in ${report.region}: ${counts}\n`)
    this.log(table(['STEP', 'RESOURCE', 'NAME', 'STATE', 'DETAIL'], rows.map((r) => [r.step, r.resource, r.name, r.state, r.detail])))
    return {stack: report.stack, region: report.region, resources: rows}
  }

  protected override jsonResult(result: {resources: StatusRow[]}): StatusResult {
    return {resources: result.resources}
  }
}
