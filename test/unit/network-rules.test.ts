import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {isMutating} from '../../src/aws/call-log.js'
import {AwsClients} from '../../src/aws/clients.js'
import {CctError, ExitCode, explainAwsError} from '../../src/errors.js'
import {defaultOptions} from '../../src/options.js'
import {formatCidr, freeBlocks, parseCidr} from '../../src/net/cidr.js'
import {validateStackName} from '../../src/stack-name.js'
import {vpcStep} from '../../src/steps/vpc.js'
import type {StepContext} from '../../src/engine/step.js'

describe('CIDR arithmetic', () => {
  it('takes the runbook subnets first in a new /16', () => {
    assert.deepEqual(freeBlocks(parseCidr('10.0.0.0/16'), 24, [], 2).map(formatCidr), ['10.0.1.0/24', '10.0.2.0/24'])
  })
  it('uses both halves of a /23', () => {
    assert.deepEqual(freeBlocks(parseCidr('10.0.0.0/23'), 24, [], 2).map(formatCidr), ['10.0.0.0/24', '10.0.1.0/24'])
  })
  it('skips blocks that overlap existing subnets', () => {
    const taken = [parseCidr('10.0.1.0/24'), parseCidr('10.0.2.0/25')]
    assert.deepEqual(freeBlocks(parseCidr('10.0.0.0/16'), 24, taken, 2).map(formatCidr), ['10.0.3.0/24', '10.0.4.0/24'])
  })
})

describe('stack names', () => {
  for (const good of ['cct', 'shop-prod', 'a1'])
    it(`accepts ${good}`, () => assert.equal(validateStackName(good), good))
  for (const bad of ['', 'Cct', '1abc', 'a--b', 'a-', 'x'.repeat(31), 'a_b']) {
    it(`refuses "${bad}"`, () =>
      assert.throws(
        () => validateStackName(bad),
        (e: CctError) => e.exitCode === ExitCode.Usage,
      ))
  }
})

describe('AWS errors a user can act on', () => {
  it('AccessDenied names the refused IAM action from the message', () => {
    const e = explainAwsError(
      Object.assign(
        new Error('User: arn:aws:iam::1:user/x is not authorized to perform: ec2:CreateVpc on resource: *'),
        {name: 'UnauthorizedOperation'},
      ),
    )
    assert.equal(e.exitCode, ExitCode.Permission)
    assert.match(e.line, /AWS denied ec2:CreateVpc\. Grant ec2:CreateVpc/)
  })
  it('AccessDenied without the action in its message names the call that failed', () => {
    const e = explainAwsError(
      Object.assign(new Error('Access Denied'), {
        name: 'AccessDeniedException',
        cctAction: 'lambda:UpdateFunctionConfiguration',
      }),
    )
    assert.match(e.line, /AWS denied lambda:UpdateFunctionConfiguration/)
  })
  it('expired credentials say how to log in again', () => {
    const e = explainAwsError(
      Object.assign(new Error('The security token included in the request is expired'), {name: 'ExpiredToken'}),
    )
    assert.equal(e.exitCode, ExitCode.Credentials)
    assert.match(e.line, /aws sso login/)
  })
})

describe('a region with fewer than two availability zones', () => {
  // An in-process SDK stand-in: moto gives every region at least two AZs, so this error
  // path cannot be produced by the emulator.
  it('is refused before any mutating call', async () => {
    const sent: string[] = []
    const aws = new AwsClients({region: 'xx-lonely-1'})
    aws.ec2 = async () =>
      ({
        send: async (command: {constructor: {name: string}}) => {
          sent.push(command.constructor.name)
          return {AvailabilityZones: [{ZoneName: 'xx-lonely-1a', State: 'available', ZoneType: 'availability-zone'}]}
        },
      }) as never
    const ctx = {aws, region: 'xx-lonely-1', stack: 'cct', options: defaultOptions()} as unknown as StepContext
    await assert.rejects(
      vpcStep.inspect(ctx),
      (e: CctError) =>
        e.exitCode === ExitCode.Usage &&
        /has 1 available availability zone; a cache subnet group needs two/.test(e.message),
    )
    // The reads the vpc step makes at once may have gone out; nothing else.
    assert.ok(sent.includes('DescribeAvailabilityZonesCommand'))
    assert.deepEqual(
      sent.filter((c) => isMutating(c.replace(/Command$/, ''))),
      [],
    )
  })
})
