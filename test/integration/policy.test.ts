/**
 * `cct policy` proven against the calls cct makes and against IAM as the sandbox enforces it:
 *
 * - setup, verify, status, cost and rollback each run as an IAM user holding only
 *   `cct policy <command>`'s output, with moto's IAM checking on (Sandbox.enforceIam), and
 *   every call the call log records is an action of that command's policy: the table in
 *   src/policy.ts cannot fall behind the code.
 * - Without any one statement of the whole-flow policy, the first command of the flow that
 *   needs it fails with exit 4, naming an action of that statement. Where the sandbox cannot
 *   deny (actions AWS checks besides the call, which moto does not), the test says so: the
 *   command succeeds, and NOT_DENIABLE names why.
 */
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  IAMClient,
} from '@aws-sdk/client-iam'

import {allowedActions, iamAction, policyDocument, type PolicyDocument} from '../../src/policy.js'
import {cli, jsonResult, type CliResult} from '../support/cct.js'
import {CliHost} from '../support/cli-host.js'
import {useSandbox} from '../support/sandbox.js'
import {seedAccount} from '../../sandbox/seed.js'

const sandbox = useSandbox({
  seed: true,
  redis: false,
  fidelity: {replicationGroupCreateSeconds: 0, replicationGroupDeleteSeconds: 0, eniLingerSeconds: 0},
})

/** The whole flow, in order: the command and its arguments. */
const FLOW: [string, string[]][] = [
  ['setup', ['setup', '--yes', '--nat', '--alarms', 'ops@example.com']],
  ['verify', ['verify']],
  ['status', ['status']],
  ['cost', ['cost', '--hours', '1']],
  ['rollback', ['rollback', '--yes']],
]

/**
 * Statements whose removal the sandbox cannot turn into a failure, and why. Each is
 * checked: without it the flow still succeeds (if moto starts enforcing one, this fails).
 */
const NOT_DENIABLE: Record<string, string> = {
  Ec2TagOnCreate: 'moto does not check ec2:CreateTags for TagSpecifications on create calls',
  ElastiCacheServiceLinkedRole:
    "moto's ElastiCache creates no service-linked role, so iam:CreateServiceLinkedRole is never checked",
  Prices: 'optional: without pricing:GetProducts cct uses its offline price table',
  ZoneOfferings: 'optional: without ec2:DescribeInstanceTypeOfferings cct chooses zones by zone id alone',
  CacheServerless:
    "this flow's setup makes a replication group; serverless-stack.test.ts checks `cct policy` covers every call of setup --serverless and its rollback",
  CostTables:
    'cost reads a table (dynamodb:DescribeTable) only once CloudWatch has its reads; this flow sends no traffic',
}

let users = 0

/**
 * The removal proof runs cct twenty-odd times, each a setup that inspects the whole stack:
 * in one long-lived host (test/support/cli-host.ts), each run as a process would have it, its
 * exit code and stderr included. The flow and the enforcement checks run real processes.
 */
const host = new CliHost()
after(() => host.stop())

/** An IAM user holding only `policy` (a managed policy, as the README says), and its keys as env. */
async function userWith(policy: PolicyDocument): Promise<Record<string, string>> {
  const s = sandbox()
  const iam = new IAMClient({
    endpoint: s.endpoint,
    region: s.region,
    credentials: {accessKeyId: 'test', secretAccessKey: 'test'},
  })
  const name = `cct-runner-${++users}`
  await iam.send(new CreateUserCommand({UserName: name}))
  const {Policy} = await iam.send(new CreatePolicyCommand({PolicyName: name, PolicyDocument: JSON.stringify(policy)}))
  await iam.send(new AttachUserPolicyCommand({UserName: name, PolicyArn: Policy!.Arn!}))
  const {AccessKey} = await iam.send(new CreateAccessKeyCommand({UserName: name}))
  return {...s.env, AWS_ACCESS_KEY_ID: AccessKey!.AccessKeyId!, AWS_SECRET_ACCESS_KEY: AccessKey!.SecretAccessKey!}
}

/** Calls of one run whose IAM action the command's policy lacks. */
function outside(command: string, run: CliResult): string[] {
  const allowed = allowedActions(command)
  return [...new Set(run.calls.map((c) => iamAction(c.service, c.operation)))].filter((a) => !allowed.has(a))
}

async function policyOf(command?: string): Promise<PolicyDocument> {
  const run = await cli(['policy', ...(command ? [command] : [])], {})
  assert.equal(run.code, 0, run.stderr)
  return JSON.parse(run.stdout) as PolicyDocument
}

describe('cct policy', () => {
  it('prints the policy document cct builds (whole flow and per command), small enough for a managed policy', async () => {
    const all = await policyOf()
    assert.deepEqual(all, policyDocument('all'))
    assert.deepEqual(await policyOf('verify'), policyDocument('verify'))
    // IAM's limit for a managed policy (whitespace not counted).
    assert.ok(JSON.stringify(all).length <= 6144, `${JSON.stringify(all).length} characters`)
    const slr = all.Statement.find((s) => s.Action.includes('iam:CreateServiceLinkedRole'))
    assert.deepEqual(slr?.Condition, {StringLike: {'iam:AWSServiceName': 'elasticache.amazonaws.com'}})
    assert.ok(
      !policyDocument('verify').Statement.some((s) => s.Action.some((a) => /:(Create|Delete|Update|Put)/.test(a))),
    )
    const json = jsonResult<{for: string; statements: {sid: string; why: string}[]}>(
      await cli(['policy', 'rollback', '--json'], {}),
    )
    assert.equal(json.for, 'rollback')
    assert.ok(json.statements.every((s) => s.why.length > 0))
    const bad = await cli(['policy', 'nope'], {})
    assert.equal(bad.code, 2)
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr)
  })

  it('the whole flow runs with IAM enforced, each command as a user holding only its own policy, and calls nothing else', async () => {
    const s = sandbox()
    // Less than its own policy, in fact: without the statements the sandbox cannot deny.
    // The flow succeeding without them is what NOT_DENIABLE claims (if moto starts
    // enforcing one, this fails and the statement moves to the removal test).
    const deniable = (command: string): PolicyDocument => {
      const own = policyDocument(command)
      return {...own, Statement: own.Statement.filter((x) => !NOT_DENIABLE[x.Sid])}
    }
    const envs = Object.fromEntries(
      await Promise.all(FLOW.map(async ([command]) => [command, await userWith(deniable(command))] as const)),
    )
    await s.enforceIam(true)
    try {
      for (const [command, args] of FLOW) {
        const started = Date.now()
        const run = await cli(args, envs[command]!)
        console.log(`${command}: exit ${run.code}, ${run.calls.length} calls, ${Date.now() - started} ms`)
        assert.equal(run.code, 0, `${command}: ${run.stderr}`)
        assert.deepEqual(outside(command, run), [], `${command} called actions its policy lacks`)
      }
    } finally {
      await s.enforceIam(false)
    }
  })

  it('the sandbox does enforce: a user without the policy is refused with exit 4, naming the action', async () => {
    const s = sandbox()
    const env = await userWith({
      Version: '2012-10-17',
      Statement: [{Sid: 'Nothing', Effect: 'Allow', Action: ['sts:GetCallerIdentity'], Resource: '*'}],
    })
    await s.enforceIam(true)
    try {
      const run = await cli(['status'], env)
      assert.equal(run.code, 4, run.stderr)
      assert.match(run.stderr, /AWS denied \w+:\w+/)
    } finally {
      await s.enforceIam(false)
    }
  })

  it('without any one statement, the first command that needs it stops with exit 4 naming an action of it', async () => {
    const s = sandbox()
    const whole = policyDocument('all')
    const deniable = whole.Statement.filter((x) => !NOT_DENIABLE[x.Sid])
    const needsFirst = (sid: string) =>
      FLOW.findIndex(([command]) => policyDocument(command).Statement.some((x) => x.Sid === sid))
    const bySetup = deniable.filter((x) => needsFirst(x.Sid) === 0)
    const later = deniable.filter((x) => needsFirst(x.Sid) > 0)
    // The order setup first needs them in, from a setup with every permission.
    const full = await host.run(FLOW[0]![1], s.env)
    assert.equal(full.code, 0, full.stderr)
    const actions = full.calls.map((c) => iamAction(c.service, c.operation))
    const firstUse = new Map(bySetup.map((x) => [x.Sid, actions.findIndex((a) => x.Action.includes(a))] as const))
    const order = [...bySetup].sort((x, y) => firstUse.get(x.Sid)! - firstUse.get(y.Sid)!)
    const fresh = async () => {
      await s.reset()
      await seedAccount(s)
    }
    const runWithout = async (sid: string, at = 0): Promise<CliResult> => {
      const env = await userWith({...whole, Statement: whole.Statement.filter((x) => x.Sid !== sid)})
      await s.enforceIam(true)
      try {
        return await host.run(FLOW[at]![1], env)
      } finally {
        await s.enforceIam(false)
      }
    }
    const assertDenied = (statement: (typeof deniable)[number], run: CliResult, command: string) => {
      const denied = /AWS denied ([\w-]+:\w+)/.exec(run.stderr)?.[1]
      console.log(`${statement.Sid}: ${command} exit ${run.code}, denied ${denied}`)
      assert.equal(run.code, 4, `${command} without ${statement.Sid}: ${run.stderr}`)
      assert.ok(denied && statement.Action.includes(denied), `${statement.Sid}: stderr names ${denied}: ${run.stderr}`)
    }
    // One setup per statement, each resuming where the one before was stopped (cct resumes
    // what a refusal interrupted): without a statement, setup gets as far as its first use.
    await fresh()
    for (const statement of order) {
      let run = await runWithout(statement.Sid)
      if (run.code === 0) {
        // A step that ran beside the one refused before already did this statement's work:
        // from a fresh account, setup must need it again.
        await fresh()
        run = await runWithout(statement.Sid)
      }
      assertDenied(statement, run, 'setup')
    }
    // Statements a later command needs first: the commands before it with every
    // permission (converging what the last refusal left), then that command without it.
    for (const statement of later) {
      const at = needsFirst(statement.Sid)
      for (const [command, args] of FLOW.slice(0, at)) assert.equal((await host.run(args, s.env)).code, 0, command)
      assertDenied(statement, await runWithout(statement.Sid, at), FLOW[at]![0])
    }
  })
})
