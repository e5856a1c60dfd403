import {Flags} from '@oclif/core'

import {CctError, ExitCode} from '../errors.js'
import {autoCacheFlags, cacheFlags, functionFlags, networkFlags, waitFlags} from '../flags.js'
import type {StackOptions} from '../options.js'
import {StepCommand} from '../step-command.js'

export default class Setup extends StepCommand<typeof Setup> {
  static override summary = 'Guided setup of the whole stack: network, security groups, cache, functions, env.'
  static override description =
    'On a terminal, cct asks which functions, which VPC, which engine and node type (with their monthly cost), replicas and TLS, shows the whole plan and asks to go ahead. Every question has a flag; with --yes (or --config FILE) nothing is asked. The answers are saved to cct.json (or --config), which every later command reads. Interrupted, setup leaves only tagged resources behind and resumes when run again.'

  static override examples = [
    {description: 'Answer questions on a terminal', command: '<%= config.bin %> setup'},
    {
      description: 'No questions: the runbook defaults, a cheaper Valkey cache',
      command: '<%= config.bin %> setup --yes --engine valkey --node-type cache.t4g.micro',
    },
    {
      description: 'Two functions in an existing VPC',
      command: '<%= config.bin %> setup --yes --functions articles-api,news-api --vpc-id vpc-0abc1234',
    },
    {
      description: 'A Valkey serverless cache, storage capped at 5 GB',
      command: '<%= config.bin %> setup --yes --serverless --engine valkey --max-data-gb 5',
    },
    {
      description: 'Mail alarms on the runbook targets to the team',
      command: '<%= config.bin %> setup --yes --alarms ops@example.com',
    },
  ]

  static override flags = {
    ...functionFlags,
    ...autoCacheFlags,
    ...cacheFlags,
    ...networkFlags,
    ...waitFlags,
    alarms: Flags.string({
      summary:
        'Alarm on the runbook targets (hit rate < 80%, engine CPU > 75%, evictions, function errors) to this email address or SNS topic ARN.',
    }),
  }
  protected readonly targets = []

  protected override get configMustExist(): boolean {
    return false
  }

  override async run(): Promise<unknown> {
    const interactive = !this.flags.yes && !this.jsonEnabled()
    if (interactive && !(process.stdin.isTTY && process.stdout.isTTY)) {
      throw new CctError('cct setup needs a terminal to ask its questions', {
        exitCode: ExitCode.Usage,
        hint: 'Pass --yes with the flags you need (--functions, --engine, --node-type, --replicas, --no-tls, --vpc-id or --cidr), or --config FILE',
      })
    }
    const {AwsClients} = await import('../aws/clients.js')
    const {planStack, prepareStack} = await import('../services/stack.js')
    const {formatReport, formatSetupSummary, formatShortPlan} = await import('../ui/report.js')
    let options = this.options
    if (interactive) {
      const {discoverAccount} = await import('../services/discovery.js')
      const {askSetup} = await import('../ui/setup-prompts.js')
      const aws = new AwsClients(this.awsSettings)
      options = await askSetup(await discoverAccount(aws), options, (line) => this.log(line), aws)
    }
    let request = {settings: this.awsSettings, options, signal: this.abortController.signal}
    if (this.flags['dry-run']) {
      // After the questions, the plan table says it all.
      const plan = await this.withProgress((onEvent) => planStack({...request, onEvent}), {quiet: interactive})
      this.log(formatReport(plan))
      return plan
    }
    // Inspected and planned once; the checks and the question look at the plan that is then
    // applied. Quiet: the apply's progress says it all.
    let prepared = await prepareStack(request)
    const {lossesOf, lossRefusal, askLosses} = await import('../ui/internet-loss.js')
    const losses = lossesOf(prepared.report)
    if (losses.length && !interactive) throw lossRefusal(losses)
    if (losses.length) {
      // Each function that would lose what it reaches is asked about; those kept out are planned without.
      const declined = await askLosses(losses)
      if (declined.length) {
        const moved =
          (prepared.report.steps.find((s) => s.id === 'attach')?.output as {functions?: string[]} | undefined)
            ?.functions ?? []
        const functions = moved.filter((f) => !declined.includes(f))
        if (functions.length === 0) {
          const {cancelled} = await import('../ui/prompts.js')
          throw cancelled()
        }
        options = {...options, functions}
        request = {...request, options}
        prepared = await prepareStack(request)
      }
    }
    const plan = prepared.report
    const changes = plan.steps.reduce((n, s) => n + s.changes.length, 0)
    if (interactive && changes > 0) {
      // What will be done, what it costs and how long it takes, all before the question.
      this.log(formatShortPlan(plan, {listedBy: 'cct plan'}))
      const {confirmOrCancel} = await import('../ui/prompts.js')
      await confirmOrCancel('Go ahead?')
    }
    await this.saveAnswers(options, plan.region)
    if (changes === 0) {
      // Converged: nothing to perform, and nothing worth a progress display.
      const report = {...plan, mode: 'apply' as const}
      this.log(formatSetupSummary(report, options))
      return report
    }
    const report = await this.withProgress((onEvent) => prepared.perform(onEvent))
    this.log(formatSetupSummary(report, options))
    return report
  }

  private async saveAnswers(options: StackOptions, region: string): Promise<void> {
    const {writeConfig, DEFAULT_CONFIG_FILE} = await import('../config-file.js')
    const path = this.flags.config ?? DEFAULT_CONFIG_FILE
    await writeConfig(path, {
      stack: options.stack,
      region,
      ...(this.awsSettings.profile ? {profile: this.awsSettings.profile} : {}),
      ...(options.vpcId ? {vpcId: options.vpcId} : {cidr: options.cidr, subnetPrefix: options.subnetPrefix}),
      ...(options.nat ? {nat: true} : {}),
      ...(options.subnetIds ? {subnetIds: options.subnetIds} : {}),
      engine: options.engine,
      ...(options.engineVersion ? {engineVersion: options.engineVersion} : {}),
      // A serverless cache has no nodes: saving node choices would contradict it on the next run.
      ...(options.serverless
        ? {
            serverless: true,
            ...(options.maxDataGb !== undefined ? {maxDataGb: options.maxDataGb} : {}),
            ...(options.maxEcpu !== undefined ? {maxEcpu: options.maxEcpu} : {}),
          }
        : {
            nodeType: options.nodeType,
            replicas: options.replicas,
            ...(options.shards !== 1 ? {shards: options.shards} : {}),
            tls: options.tls,
          }),
      ...(options.functions ? {functions: options.functions} : {}),
      ...(options.autoCache !== undefined ? {autoCache: options.autoCache} : {}),
      ...(options.autoCacheTtls ? {autoCacheTtls: options.autoCacheTtls} : {}),
      ...(options.alarms ? {alarms: options.alarms} : {}),
    })
    this.logToStderr(`Saved the answers to ${path}; later commands read it.`)
  }
}
