import {networkFlags} from '../flags.js'
import {StepCommand} from '../step-command.js'

export default class Sg extends StepCommand<typeof Sg> {
  static override summary =
    'Create the two security groups: <stack>-lambda-sg for the functions, <stack>-cache-sg for the cache.'
  static override description = `The cache group admits TCP 6379 only from the lambda group (a group reference, not a CIDR) and has no outbound rule: nothing else in the VPC can reach the cache.`

  static override examples = [
    {description: 'Create both groups in the stack VPC', command: '<%= config.bin %> sg'},
    {description: 'Plan only', command: '<%= config.bin %> sg --dry-run --json'},
  ]

  static override flags = {...networkFlags}
  protected readonly targets = ['sg' as const]
}
