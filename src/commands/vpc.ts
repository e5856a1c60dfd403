import {networkFlags} from '../flags.js'
import {StepCommand} from '../step-command.js'

export default class Vpc extends StepCommand<typeof Vpc> {
  static override summary =
    'Create (or reuse) the VPC, two private subnets in two AZs, and DynamoDB/S3 gateway endpoints.'
  static override description = `Subnets go in two availability zones discovered in the region. The route table gets gateway endpoints for DynamoDB and S3, so functions moved into the VPC keep reaching them (free; no NAT gateway). There is no internet route: a function in a VPC cannot use an internet gateway, and other internet calls need a NAT gateway (about $32/month per AZ). With --vpc-id, cct creates only what is missing and never deletes what it did not create.`

  static override examples = [
    {
      description: 'Create the network with the defaults (10.0.0.0/16, two /24 subnets)',
      command: '<%= config.bin %> vpc',
    },
    {description: 'See what would be created, change nothing', command: '<%= config.bin %> vpc --dry-run'},
    {
      description: 'Also a NAT gateway, for functions that call other internet APIs (costs money)',
      command: '<%= config.bin %> vpc --nat',
    },
    {
      description: 'Reuse an existing VPC and two of its subnets',
      command: '<%= config.bin %> vpc --vpc-id vpc-0abc1234 --subnet-ids subnet-0aa,subnet-0bb',
    },
  ]

  static override flags = {...networkFlags}
  protected readonly targets = ['vpc' as const, 'nat' as const]
}
