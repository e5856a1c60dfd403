import {Flags} from '@oclif/core'

import {functionFlags, networkFlags, waitFlags} from '../flags.js'
import {StepCommand} from '../step-command.js'

export default class Attach extends StepCommand<typeof Attach> {
  static override summary = "Move the functions into the stack's VPC with the lambda security group."
  static override description =
    'Before changing a function, cct checks that its execution role may create network interfaces and, if not, attaches service-role/AWSLambdaVPCAccessExecutionRole (recorded on the role, so rollback detaches only what cct attached). A function already in the VPC keeps its subnets and groups and gains the lambda group; one in another VPC is refused unless --force. What cct changes is recorded on the function as tags. Functions update in parallel; each update waits for Lambda to finish before the next.'

  static override examples = [
    {description: "Attach the runbook's five functions (those that exist)", command: '<%= config.bin %> attach'},
    {description: 'Attach two functions', command: '<%= config.bin %> attach --functions articles-api,news-api'},
  ]

  static override flags = {
    ...functionFlags,
    force: Flags.boolean({
      helpGroup: 'FUNCTIONS',
      default: false,
      summary: 'Move functions that are in another VPC (their config is recorded for rollback).',
    }),
    ...networkFlags,
    ...waitFlags,
  }

  protected readonly targets = ['attach' as const]
}
