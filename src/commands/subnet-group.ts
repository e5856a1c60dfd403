import {networkFlags} from '../flags.js'
import {StepCommand} from '../step-command.js'

export default class SubnetGroup extends StepCommand<typeof SubnetGroup> {
  static override summary = 'Create the ElastiCache subnet group <stack>-cache-subnet-group over the two subnets.'
  static override examples = [{description: 'Create the subnet group', command: '<%= config.bin %> subnet-group'}]
  static override flags = {...networkFlags}
  protected readonly targets = ['subnet-group' as const]
}
