import {autoCacheFlags, cacheFlags, functionFlags, networkFlags} from '../flags.js'
import type {ConvergeReport} from '../services/converge.js'
import {StepCommand} from '../step-command.js'

export default class Plan extends StepCommand<typeof Plan> {
  static override summary = 'Show what `cct setup` would create or change for the whole stack; change nothing.'
  static override examples = [
    {description: 'The plan for the saved settings (cct.json)', command: '<%= config.bin %> plan'},
    {description: 'The plan as JSON', command: '<%= config.bin %> plan --json'},
  ]

  static override flags = {...networkFlags, ...cacheFlags, ...functionFlags, ...autoCacheFlags}
  protected readonly targets = []

  override async run(): Promise<ConvergeReport> {
    const {planStack} = await import('../services/stack.js')
    const report = await this.withProgress((onEvent) =>
      planStack({settings: this.awsSettings, options: this.options, onEvent, signal: this.abortController.signal}),
    )
    const {formatReport} = await import('../ui/report.js')
    this.log(formatReport(report))
    return report
  }
}
