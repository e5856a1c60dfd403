import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {missingVpcActions} from '../../src/aws/roles.js'
import type {StepContext} from '../../src/engine/step.js'
import {CctError} from '../../src/errors.js'
import {vpcStep, type VpcOp} from '../../src/steps/vpc.js'
import {periodFor, validPeriod} from '../../src/verify/metrics.js'
import {vpcState} from '../support/states.js'

const DAY = 86_400_000

describe('CloudWatch periods (GetMetricStatistics: older data needs coarser periods)', () => {
  const now = new Date('2026-06-30T00:00:00Z')
  it('a multiple of 60 s up to 15 days back, of 300 s to 63 days, of 3600 s beyond', () => {
    assert.equal(validPeriod(60, new Date(now.getTime() - 14 * DAY), now), 60)
    assert.equal(validPeriod(60, new Date(now.getTime() - 16 * DAY), now), 300)
    assert.equal(validPeriod(420, new Date(now.getTime() - 16 * DAY), now), 600)
    assert.equal(validPeriod(60, new Date(now.getTime() - 64 * DAY), now), 3600)
  })
  it('a 20-day hit-rate window gets a period CloudWatch serves, still within 1,440 datapoints', () => {
    const w = {start: new Date(now.getTime() - 20 * DAY), end: now}
    const period = periodFor(w, 1440, now)
    assert.equal(period % 300, 0)
    assert.ok((20 * DAY) / 1000 / period <= 1440)
  })
})

describe("the role check: Lambda's five EC2 actions for VPC access", () => {
  const doc = (actions: string[]) =>
    JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: actions, Resource: '*'}]})
  it('CreateNetworkInterface alone is not enough; all five, or a wildcard, is', () => {
    assert.deepEqual(missingVpcActions([doc(['ec2:CreateNetworkInterface'])]), [
      'ec2:DescribeNetworkInterfaces',
      'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:UnassignPrivateIpAddresses',
    ])
    assert.deepEqual(
      missingVpcActions([
        doc(['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface']),
        doc(['ec2:*PrivateIpAddresses']),
      ]),
      [],
    )
    assert.deepEqual(missingVpcActions([doc(['ec2:*'])]), [])
    assert.deepEqual(missingVpcActions([JSON.stringify({Statement: {Effect: 'Deny', Action: '*'}})]).length, 5)
  })
})

describe("rollback of the VPC endpoints: DeleteVpcEndpoints' Unsuccessful list", () => {
  const run = (unsuccessful: {ResourceId: string; Error: {Code: string; Message: string}}[]) => {
    const ec2 = {
      send: async (command: {constructor: {name: string}}) =>
        command.constructor.name === 'DeleteVpcEndpointsCommand' ? {Unsuccessful: unsuccessful} : {},
    }
    const ctx = {aws: {ec2: async () => ec2}, progress: () => {}, note: () => {}} as unknown as StepContext
    const plan = [
      {
        action: 'delete' as const,
        resource: 'vpc-endpoint',
        name: 'vpce-1',
        op: {kind: 'delete-endpoint', service: 'dynamodb', endpointId: 'vpce-1'} as VpcOp,
      },
    ]
    return vpcStep.destroy(vpcState(), plan, ctx)
  }
  it('an endpoint already gone is fine; any other failure is reported, naming it', async () => {
    await run([{ResourceId: 'vpce-1', Error: {Code: 'InvalidVpcEndpoint.NotFound', Message: 'gone'}}])
    await assert.rejects(
      run([{ResourceId: 'vpce-1', Error: {Code: 'OperationNotPermitted', Message: 'in use'}}]),
      (e: CctError) => /AWS did not delete VPC endpoint vpce-1 \(OperationNotPermitted: in use\)/.test(e.message),
    )
  })
})
