import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {CreateSubnetCommand, CreateVpcCommand, EC2Client} from '@aws-sdk/client-ec2'

import {cli} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({redis: false})

/** Every bad input: one line on stderr saying what and how to fix, exit 2, no mutating call. */
async function refused(args: string[], message: RegExp): Promise<void> {
  const result = await cli(args, sandbox().env)
  assert.equal(result.code, 2, `exit code for ${args.join(' ')}: ${result.stderr}`)
  const lines = result.stderr.trim().split('\n').filter((l) => l.startsWith('✖ ') && !l.includes('failed ['))
  assert.equal(lines.length, 1, `one error line: ${result.stderr}`)
  assert.match(lines[0]!, message)
  assert.deepEqual(result.mutating, [], 'no mutating call')
}

describe('bad input is refused before any change', () => {
  it('a malformed CIDR', () => refused(['vpc', '--cidr', '10.0.0/16'], /"10\.0\.0\/16" is not an IPv4 CIDR block\. Write it as/))
  it('a CIDR with host bits', () => refused(['vpc', '--cidr', '10.0.3.0/16'], /has host bits set\. Did you mean 10\.0\.0\.0\/16\?/))
  it('a CIDR too small for two subnets', () => refused(['vpc', '--cidr', '10.0.0.0/24'], /too small for two \/24 subnets\. Use a \/23 or larger/))
  it('a CIDR larger than AWS allows', () => refused(['vpc', '--cidr', '10.0.0.0/8'], /AWS allows \/16 to \/28/))
  it('a stack name AWS would reject', () => refused(['vpc', '--stack', 'My_Stack'], /Stack name "My_Stack" cannot be used/))
  it('a stack name with a double hyphen', () => refused(['sg', '--stack', 'a--b'], /Stack name "a--b"/))
  it('a region name that is not one', () => refused(['vpc', '--region', 'moon'], /"moon" is not an AWS region name/))
  it('a malformed VPC id', () => refused(['vpc', '--vpc-id', 'my-vpc'], /"my-vpc" is not a VPC id/))
  it('an unknown VPC', () => refused(['vpc', '--vpc-id', 'vpc-0123456789abcdef0'], /VPC vpc-0123456789abcdef0 does not exist in us-east-1/))
  it('an unknown flag', () => refused(['vpc', '--cidrs', '10.0.0.0/16'], /Nonexistent flag: --cidrs\. See `cct vpc --help`/))

  it('an unknown subnet', async () => {
    const ec2 = new EC2Client({endpoint: sandbox().endpoint, region: 'us-east-1', maxAttempts: 1})
    const {Vpc} = await ec2.send(new CreateVpcCommand({CidrBlock: '10.9.0.0/16'}))
    const {Subnet} = await ec2.send(new CreateSubnetCommand({VpcId: Vpc!.VpcId!, CidrBlock: '10.9.1.0/24', AvailabilityZone: 'us-east-1a'}))
    await refused(['vpc', '--vpc-id', Vpc!.VpcId!, '--subnet-ids', `${Subnet!.SubnetId},subnet-0123456789abcdef0`], /Subnet subnet-0123456789abcdef0 does not exist/)
  })

  it('subnets in one availability zone', async () => {
    const ec2 = new EC2Client({endpoint: sandbox().endpoint, region: 'us-east-1', maxAttempts: 1})
    const {Vpc} = await ec2.send(new CreateVpcCommand({CidrBlock: '10.8.0.0/16'}))
    const ids = []
    for (const cidr of ['10.8.1.0/24', '10.8.2.0/24']) {
      ids.push((await ec2.send(new CreateSubnetCommand({VpcId: Vpc!.VpcId!, CidrBlock: cidr, AvailabilityZone: 'us-east-1a'}))).Subnet!.SubnetId!)
    }
    await refused(['vpc', '--vpc-id', Vpc!.VpcId!, '--subnet-ids', ids.join(',')], /are all in us-east-1a\. Pass subnets in at least two availability zones/)
  })

  it('--json reports the error in the envelope on stdout with the same exit code', async () => {
    const result = await cli(['vpc', '--cidr', 'nope', '--json'], sandbox().env)
    assert.equal(result.code, 2)
    const body = JSON.parse(result.stdout) as {ok: boolean; command: string; result: unknown; error: {message: string; hint: string; exitCode: number}}
    assert.deepEqual([body.ok, body.command, body.result], [false, 'vpc', null])
    assert.match(body.error.message, /not an IPv4 CIDR/)
    assert.equal(body.error.exitCode, 2)
    assert.ok(body.error.hint)
  })
})
