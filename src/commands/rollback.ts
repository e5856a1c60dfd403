import {Flags} from '@oclif/core'

import {CctError, ExitCode} from '../errors.js'
import {networkFlags, waitFlags} from '../flags.js'
import type {ConvergeReport} from '../services/converge.js'
import {StepCommand} from '../step-command.js'

export default class Rollback extends StepCommand<typeof Rollback> {
  static override summary = 'Remove everything cct created and restore everything it changed, in reverse order.'
  static override description =
    "Each function's environment variables and VpcConfig go back to what they were before cct (changes made since are kept); the role policy is detached only if cct attached it; the cache is deleted and waited for; then the subnet group, the security groups and subnets (waiting, with progress, while Lambda releases its network interfaces: tens of minutes on AWS), the endpoints, route table and VPC, only if cct created them. Nothing without cct's tags is touched. Interrupted, it resumes when run again; on nothing, it changes nothing."

  static override examples = [
    {description: 'See what would be removed', command: '<%= config.bin %> rollback --dry-run'},
    {description: 'Remove it all without a question', command: '<%= config.bin %> rollback --yes'},
    {description: 'Keep the VPC, subnets and security groups', command: '<%= config.bin %> rollback --keep-network'},
  ]

  static override flags = {
    'keep-network': Flags.boolean({default: false, summary: 'Leave the VPC, subnets, endpoints and security groups.'}),
    ...networkFlags,
    ...waitFlags,
  }

  protected readonly targets = []

  override async run(): Promise<ConvergeReport> {
    const {prepareRollback, rollbackStack} = await import('../services/stack.js')
    const {formatReport, formatRunSummary, formatShortPlan} = await import('../ui/report.js')
    const request = {
      settings: this.awsSettings,
      options: this.options,
      signal: this.abortController.signal,
      keepNetwork: this.flags['keep-network'],
    }
    const confirm = !this.flags.yes && !this.flags['dry-run']
    if (confirm && (!process.stdin.isTTY || this.jsonEnabled())) {
      throw new CctError('Rollback removes resources and needs a confirmation', {
        exitCode: ExitCode.Usage,
        hint: 'Run it in a terminal, or pass --yes (see what it removes with --dry-run)',
      })
    }
    if (this.flags['dry-run']) {
      const preview = await this.withProgress((onEvent) => rollbackStack({...request, dryRun: true, onEvent}))
      this.log(formatReport(preview))
      return preview
    }
    // Inspected and planned once: the preview (and the question) show the plan that is then
    // carried out. Quiet: the removal's progress says it all.
    const prepared = await prepareRollback(request)
    const preview = prepared.report
    const planned = preview.steps.reduce((n, s) => n + s.changes.length, 0)
    if (planned === 0) {
      this.log(formatReport(preview))
      return preview
    }
    if (confirm) {
      this.log(formatShortPlan(preview, {listedBy: 'cct rollback --dry-run'}))
      const {confirmOrCancel} = await import('../ui/prompts.js')
      await confirmOrCancel(`Remove and restore all of the above in ${preview.region}?`)
    }
    const report = await this.withProgress((onEvent) => prepared.perform(onEvent))
    this.log(formatRunSummary(report))
    return report
  }
}
