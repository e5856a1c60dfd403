/**
 * Fifty functions with Lambda's control plane throttled at AWS's default rate (15 requests a
 * second per account, GetFunction 100): the real CLI sets them all up, verifies, and rolls
 * back; every function must end exactly as it began. cct paces its Lambda calls at those
 * rates, so it may meet no refusal at all: the test proves the limit was in force by a burst
 * of its own past it, which the sandbox refuses (and counts).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {GetFunctionCommand, LambdaClient, ListFunctionsCommand} from '@aws-sdk/client-lambda'

import {lambdaThrottles} from '../../sandbox/launcher.js'
import {seedAccount} from '../../sandbox/seed.js'
import {cli} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const FUNCTIONS = 50

const sandbox = useSandbox({
  redis: false,
  fidelity: {
    replicationGroupCreateSeconds: 1,
    replicationGroupDeleteSeconds: 1,
    eniLingerSeconds: 1,
    lambdaUpdateSeconds: 1,
    lambdaControlPlaneRate: 15,
    lambdaGetFunctionRate: 100,
  },
})

/** Each function's configuration and tags as a user would compare them (read patiently: the limit applies to us too). */
async function functionsNow(names: string[]): Promise<Record<string, unknown>> {
  const s = sandbox()
  const lambda = new LambdaClient({endpoint: s.endpoint, region: s.region, maxAttempts: 10, retryMode: 'adaptive'})
  const out: Record<string, unknown> = {}
  for (const name of names) {
    const {Configuration: c, Tags} = await lambda.send(new GetFunctionCommand({FunctionName: name}))
    out[name] = {
      env: c?.Environment?.Variables ?? {},
      layers: (c?.Layers ?? []).map((l) => l.Arn),
      subnets: c?.VpcConfig?.SubnetIds ?? [],
      groups: c?.VpcConfig?.SecurityGroupIds ?? [],
      tags: Tags ?? {},
    }
  }
  return out
}

describe('fifty functions under Lambda throttling', () => {
  it('setup, verify and rollback converge; the limit was met; every function ends as it began', async () => {
    const s = sandbox()
    const {functionNames: names} = await seedAccount(s, {functions: FUNCTIONS})
    assert.equal(names.length, FUNCTIONS)
    const before = await functionsNow(names)
    const throttled = async () => (await lambdaThrottles(s.endpoint)).total
    const start = await throttled()

    const args = ['--yes', '--nat', '--functions', names.join(',')]
    const setup = await cli(['setup', ...args], s.env)
    assert.equal(setup.code, 0, setup.stderr)
    // One line per state, not one per function and event: a handful of lines per step.
    const lines = setup.stdout.split('\n').filter((l) => /VPC|layer|REDIS_/.test(l))
    assert.ok(lines.length < 40, `${lines.length} progress lines:\n${lines.join('\n')}`)
    const set = await functionsNow(names)
    for (const name of names) {
      const fn = set[name] as {env: Record<string, string>; layers: string[]; subnets: string[]}
      assert.ok(fn.env.REDIS_HOST, `${name} has REDIS_HOST`)
      assert.equal(fn.subnets.length, 2, `${name} is in the VPC`)
      assert.ok(
        fn.layers.some((l) => l.includes(':layer:cct-')),
        `${name} has the cache layer`,
      )
    }
    const afterSetup = await throttled()

    const again = await cli(['setup', ...args], s.env)
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(again.mutating, [], 'a converged re-run changes nothing')

    const verify = await cli(['verify', '--json', '--functions', names.join(',')], s.env)
    const report = JSON.parse(verify.stdout) as {result: {criteria: {criterion: string; verdict: string}[]} | null}
    assert.ok(report.result?.criteria.length, `${verify.stdout}\n${verify.stderr}`)
    assert.ok(
      report.result!.criteria.every((c) => c.verdict !== 'failed'),
      JSON.stringify(report.result!.criteria, null, 2),
    )

    const rollback = await cli(['rollback', '--yes'], s.env)
    assert.equal(rollback.code, 0, rollback.stderr)
    const updates = rollback.mutating.filter((c) => c.operation === 'UpdateFunctionConfiguration').length
    assert.equal(updates, FUNCTIONS, 'one update per function undoes env, layers and VPC together')
    assert.deepEqual(await functionsNow(names), before)

    const total = await throttled()
    console.log(
      JSON.stringify({
        throttled: {setup: afterSetup - start, total: total - start},
        calls: {setup: setup.calls.length, again: again.calls.length, rollback: rollback.calls.length},
      }),
    )
    // The limit was in force all along: 30 control-plane calls at once, not retried, past its 15/s.
    const burst = new LambdaClient({endpoint: s.endpoint, region: s.region, maxAttempts: 1})
    const answers = await Promise.allSettled(Array.from({length: 30}, () => burst.send(new ListFunctionsCommand({}))))
    const refused = answers.filter((a) => a.status === 'rejected' && a.reason?.name === 'TooManyRequestsException')
    assert.ok(refused.length > 0, 'a burst past 15/s is refused')
    assert.equal((await throttled()) - total, refused.length, 'the sandbox counts each refusal it answers')
  })
})
