import {Flags} from '@oclif/core'

import {CctError, ExitCode} from '../errors.js'
import {functionFlags} from '../flags.js'
import type {VerifyReport} from '../services/verify.js'
import {StepCommand} from '../step-command.js'

export default class Verify extends StepCommand<typeof Verify> {
  static override summary = 'Check the cache is in place and working: functions configured, endpoint answering, hit rate.'
  static override description =
    "ElastiCache answers only inside its VPC, so the endpoint is tried through --redis-url: a tunnel you opened (for example SSM port forwarding through an instance in the VPC) or any URL that reaches it. The hit rate is read from CloudWatch's CacheHits and CacheMisses of every cache node. The password of a URL is never printed."

  static override examples = [
    {description: 'Configuration and hit rate of the last 24 hours', command: '<%= config.bin %> verify'},
    {description: 'Also try the endpoint through a local tunnel', command: '<%= config.bin %> verify --redis-url rediss://localhost:6380'},
  ]

  static override flags = {
    ...functionFlags,
    'redis-url': Flags.string({env: 'CCT_REDIS_URL', summary: 'redis:// or rediss:// URL that reaches the cache from here (a tunnel).'}),
    hours: Flags.integer({default: 24, summary: 'Hours of CloudWatch metrics for the hit rate.'}),
    target: Flags.integer({default: 80, summary: 'Hit rate (percent) below which verify warns.'}),
  }

  protected readonly targets = []

  override async run(): Promise<VerifyReport> {
    const {verifyStack} = await import('../services/verify.js')
    const report = await verifyStack({
      settings: this.awsSettings,
      options: this.options,
      renderer: 'silent',
      signal: this.abortController.signal,
      redisUrl: this.flags['redis-url'],
      hours: this.flags.hours,
      target: this.flags.target / 100,
    })
    const {table} = await import('../ui/table.js')
    this.log(`Stack "${report.stack}" in ${report.region}\n`)
    this.log(table(['CHECK', 'RESULT', 'DETAIL'], report.checks.map((c) => [c.name, c.ok ? 'ok' : 'FAILED', c.detail])))
    if (!report.endpoint) this.log('\nEndpoint not tried: it answers only inside its VPC. Pass --redis-url through a tunnel to try it.')
    const {hitRate: h} = report
    const rate = h.rate === undefined ? `no cache traffic in the last ${h.hours} h` : `${(h.rate * 100).toFixed(1)}% (${h.hits} hits, ${h.misses} misses in the last ${h.hours} h, over ${h.nodes.map((n) => n.node).join(', ')})`
    this.log(`\nHit rate: ${rate}`)
    if (h.rate !== undefined && h.rate < this.flags.target / 100) this.log(`Warning: below the ${this.flags.target}% target; check TTLs and which reads go through the cache.`)
    if (!report.ok) {
      if (this.jsonEnabled()) {
        process.exitCode = ExitCode.Verification
        return report
      }
      throw new CctError(`${report.checks.filter((c) => !c.ok).map((c) => c.name).join(', ')} failed verification`, {exitCode: ExitCode.Verification, hint: 'Run `cct setup` to converge, or see the table above'})
    }
    return report
  }
}
