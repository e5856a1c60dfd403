import {CctError, ExitCode} from '../errors.js'
import {cacheFlags, functionFlags, networkFlags} from '../flags.js'
import type {StatusResult} from '../json/results.js'
import type {StatusRow} from '../services/status.js'
import {StepCommand} from '../step-command.js'

export default class Status extends StepCommand<typeof Status> {
  static override summary = 'One table of every resource of the stack: present, missing or drifted (and how).'
  static override description =
    'Exits 8 when anything is missing or drifted, so a script can tell; `cct setup` converges it.'
  static override examples = [
    {description: 'What exists of the stack', command: '<%= config.bin %> status'},
    {description: 'For scripts', command: '<%= config.bin %> status --json'},
  ]

  static override flags = {...networkFlags, ...cacheFlags, ...functionFlags}
  protected readonly targets = []

  override async run(): Promise<{stack: string; region: string; resources: StatusRow[]}> {
    const {stackStatus} = await import('../services/stack.js')
    const {allPresent} = await import('../services/status.js')
    const {report, rows} = await this.withProgress(
      (onEvent) =>
        stackStatus({settings: this.awsSettings, options: this.options, signal: this.abortController.signal, onEvent}),
      {quiet: true},
    )
    const {table} = await import('../ui/table.js')
    const counts = (['present', 'missing', 'drifted'] as const)
      .map((s) => `${rows.filter((r) => r.state === s).length} ${s}`)
      .join(', ')
    this.log(`Stack "${report.stack}" in ${report.region}: ${counts}\n`)
    this.log(
      table(
        ['STEP', 'RESOURCE', 'NAME', 'STATE', 'DETAIL'],
        rows.map((r) => [r.step, r.resource, r.name, r.state, r.detail]),
      ),
    )
    if (!allPresent(rows)) {
      const off = rows.filter((r) => r.state !== 'present').length
      this.fail(
        new CctError(`${off} of ${rows.length} resources of stack "${report.stack}" are missing or drifted`, {
          exitCode: ExitCode.Drift,
          hint: 'See what `cct setup` would change with `cct plan`, or run `cct setup` to converge',
        }),
      )
    }
    return {stack: report.stack, region: report.region, resources: rows}
  }

  protected override jsonResult(result: {resources: StatusRow[]}): StatusResult {
    return {resources: result.resources}
  }
}
