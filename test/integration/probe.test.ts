/**
 * verify's probe function is part of the stack: created with least privilege in the
 * stack's subnets and lambda group with the cct layer, converged with zero calls, and
 * removed (function and role) by rollback.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {GetRolePolicyCommand, IAMClient, ListAttachedRolePoliciesCommand, ListRolesCommand} from '@aws-sdk/client-iam'
import {GetFunctionCommand, LambdaClient, UpdateFunctionConfigurationCommand} from '@aws-sdk/client-lambda'

import {runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({seed: true, redis: false})
const config = () => ({
  endpoint: sandbox().endpoint,
  region: sandbox().region,
  maxAttempts: 1,
  credentials: {accessKeyId: 'test', secretAccessKey: 'test'},
})

describe('the probe step', () => {
  it('creates cct-probe in the stack subnets with the lambda group and the layer; again: zero calls; drift is repaired; rollback removes it and its role', async () => {
    const {report} = await runSteps(sandbox(), ['vpc', 'sg', 'layer', 'probe'])
    const out = (id: string) => report.steps.find((s) => s.id === id)!.output as Record<string, unknown>
    const lambda = new LambdaClient(config())
    const iam = new IAMClient(config())
    const {Configuration: fn, Tags} = await lambda.send(new GetFunctionCommand({FunctionName: 'cct-probe'}))
    assert.equal(fn!.Runtime, 'nodejs22.x')
    assert.deepEqual([...fn!.VpcConfig!.SubnetIds!].sort(), [...(out('vpc').subnetIds as string[])].sort())
    assert.deepEqual(fn!.VpcConfig!.SecurityGroupIds, [out('sg').lambdaGroupId])
    assert.deepEqual(
      fn!.Layers!.map((l) => l.Arn),
      [out('layer').layerVersionArn],
    )
    assert.equal(Tags!['cct:stack'], 'cct')

    const role = fn!.Role!.split('/').pop()!
    assert.equal(role, 'cct-probe-role')
    const {AttachedPolicies = []} = await iam.send(new ListAttachedRolePoliciesCommand({RoleName: role}))
    assert.deepEqual(
      AttachedPolicies.map((p) => p.PolicyName),
      ['AWSLambdaVPCAccessExecutionRole'],
    )
    const inline = await iam.send(new GetRolePolicyCommand({RoleName: role, PolicyName: 'cct-probe-dynamodb-read'}))
    const statements = JSON.parse(decodeURIComponent(inline.PolicyDocument!)).Statement
    assert.deepEqual(
      statements,
      [{Effect: 'Allow', Action: 'dynamodb:ListTables', Resource: '*'}],
      'one read-only action, nothing else',
    )

    assert.deepEqual((await runSteps(sandbox(), ['probe'])).mutating, [], 'converged: no mutating call')

    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'cct-probe',
        VpcConfig: {
          SubnetIds: [out('vpc').subnetIds as string[]][0]!.slice(0, 1),
          SecurityGroupIds: [out('sg').lambdaGroupId as string],
        },
      }),
    )
    const repaired = await runSteps(sandbox(), ['probe'])
    assert.deepEqual(
      repaired.mutating.map((c) => c.operation),
      ['UpdateFunctionConfiguration'],
    )

    await runSteps(sandbox(), ['probe', 'vpc', 'sg', 'layer'], {}, 'destroy')
    await assert.rejects(lambda.send(new GetFunctionCommand({FunctionName: 'cct-probe'})), /not found/i)
    const {Roles = []} = await iam.send(new ListRolesCommand({}))
    assert.deepEqual(
      Roles.map((r) => r.RoleName).filter((n) => n!.startsWith('cct-probe')),
      [],
      'the probe role is gone too',
    )
  })
})
