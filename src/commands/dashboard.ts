import {networkFlags} from '../flags.js'
import {StepCommand} from '../step-command.js'

export default class Dashboard extends StepCommand<typeof Dashboard> {
  static override summary =
    'Create the CloudWatch dashboard <stack>-cache: hit rate, hits and misses, CPU, memory, evictions, and the helper metrics per function.'
  static override description =
    'ElastiCache publishes its metrics per cache node (<stack>-cache-001, ...), so the dashboard follows the nodes of the replication group: run it again after changing replicas. The cache helper in the layer adds hits, misses and errors per function (CloudWatch Embedded Metric Format, namespace cct/cache).'

  static override examples = [{description: 'Create or update the dashboard', command: '<%= config.bin %> dashboard'}]
  static override flags = {...networkFlags}
  protected readonly targets = ['dashboard' as const]
}
