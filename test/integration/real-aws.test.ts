/**
 * What real AWS does to the functions that moto alone would not: an update left Failed,
 * container-image functions, Lambda's limits (security groups, environment size), published
 * versions and aliases, the role's EC2 actions (issue #12). One sandbox for the file.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {GetFunctionConfigurationCommand, LambdaClient, UpdateFunctionConfigurationCommand} from '@aws-sdk/client-lambda'

import {CctError} from '../../src/errors.js'
import {runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({seed: true, redis: false})
const CORE = ['vpc', 'sg', 'subnet-group', 'cluster', 'attach', 'env'] as const

const lambdaClient = () => new LambdaClient({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})
const config = (name: string) => lambdaClient().send(new GetFunctionConfigurationCommand({FunctionName: name}))

describe('an update left Failed (LastUpdateStatus: Failed)', () => {
  it('does not block later writes; Failed after cct\'s own write is cct\'s failure, and rollback still works', async () => {
    const lambda = lambdaClient()
    // Someone's earlier update failed (no IP addresses left in a subnet).
    await sandbox().configure({lambdaUpdatesFail: 'articles-api'})
    await lambda.send(new UpdateFunctionConfigurationCommand({FunctionName: 'articles-api', Description: 'tuned by hand'}))
    await sandbox().configure({lambdaUpdatesFail: ''})
    assert.equal((await config('articles-api')).LastUpdateStatus, 'Failed')

    await runSteps(sandbox(), [...CORE], {functions: ['articles-api']})
    const after = await config('articles-api')
    assert.equal(after.LastUpdateStatus, 'Successful')
    assert.ok(after.Environment?.Variables?.REDIS_HOST, 'REDIS_HOST set')
    assert.equal(after.VpcConfig?.SubnetIds?.length, 2, 'in the VPC')

    // cct's own write fails: the step says so, with Lambda's reason code.
    await sandbox().configure({lambdaUpdatesFail: 'articles-api'})
    await assert.rejects(runSteps(sandbox(), ['env'], {functions: ['articles-api'], autoCache: true}), (e: CctError) => /Lambda could not update articles-api \(SubnetOutOfIPAddresses\)/.test(e.message) && /cct env/.test(e.hint ?? ''))
    await sandbox().configure({lambdaUpdatesFail: ''})
    assert.equal((await config('articles-api')).LastUpdateStatus, 'Failed')

    // Rollback from the Failed state restores the function.
    await runSteps(sandbox(), [...CORE], {}, 'destroy')
    const restored = await config('articles-api')
    assert.equal(restored.Environment?.Variables?.REDIS_HOST, undefined)
    assert.equal(restored.Environment?.Variables?.AWS_LAMBDA_EXEC_WRAPPER, undefined)
    assert.deepEqual(restored.VpcConfig?.SubnetIds ?? [], [])
    assert.equal(restored.LastUpdateStatus, 'Successful')
  })
})
