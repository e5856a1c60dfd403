import {DescribeVpcsCommand} from '@aws-sdk/client-ec2'
import {GetCallerIdentityCommand} from '@aws-sdk/client-sts'

import type {AwsClients} from '../aws/clients.js'
import {listAllFunctions} from '../aws/functions.js'
import {tagMap} from '../tags.js'

export interface AccountView {
  account: string
  arn: string
  region: string
  vpcs: {id: string; cidr: string; name?: string; isDefault: boolean}[]
  functions: {name: string; runtime?: string; vpcId?: string}[]
}

/** What `cct setup` offers: who and where we are, the VPCs, the functions. Read-only. */
export async function discoverAccount(aws: AwsClients): Promise<AccountView> {
  const region = await aws.region()
  const [sts, ec2, lambda] = await Promise.all([aws.sts(), aws.ec2(), aws.lambda()])
  const identity = await sts.send(new GetCallerIdentityCommand({}))
  const {Vpcs = []} = await ec2.send(new DescribeVpcsCommand({}))
  const functions = await listAllFunctions(lambda)
  return {
    account: identity.Account ?? 'unknown',
    arn: identity.Arn ?? 'unknown',
    region,
    vpcs: Vpcs.map((v) => ({
      id: v.VpcId!,
      cidr: v.CidrBlock!,
      name: tagMap(v.Tags).get('Name'),
      isDefault: v.IsDefault ?? false,
    })),
    functions: functions
      .map((f) => ({name: f.FunctionName!, runtime: f.Runtime, vpcId: f.VpcConfig?.VpcId || undefined}))
      .sort((a, b) => a.name.localeCompare(b.name)),
  }
}
