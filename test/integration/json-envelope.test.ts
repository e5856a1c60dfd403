/**
 * Every command's --json is one envelope ({ok, command, stack, region, result, warnings,
 * error}) that validates against its committed schema (schemas/<command>.json), on
 * success and on failure, with the documented exit code, and without the engine's words.
 * The outputs are real: the built CLI against the sandbox.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {GetFunctionConfigurationCommand, LambdaClient, UpdateFunctionConfigurationCommand} from '@aws-sdk/client-lambda'
import {Ajv, type ValidateFunction} from 'ajv'

import type {JsonError} from '../../src/json/envelope.js'
import type {StepsResult} from '../../src/json/results.js'
import {cli, type CliResult} from '../support/cct.js'
import {CliHost} from '../support/cli-host.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({seed: true})
const root = join(import.meta.dirname, '..', '..')
const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, unknown>
}

interface Envelope {
  ok: boolean
  command: string
  stack: string | null
  region: string | null
  result: unknown
  warnings: string[]
  error: JsonError | null
}

const ajv = new Ajv({allErrors: true})
const validators = new Map<string, ValidateFunction>()
function schemaOf(command: string): ValidateFunction {
  let v = validators.get(command)
  if (!v) {
    v = ajv.compile(JSON.parse(readFileSync(join(root, 'schemas', `${command}.json`), 'utf8')) as object)
    validators.set(command, v)
  }
  return v
}

/**
 * The dry runs of every step command and the plans run in one cct host (test/support/cli-host.ts),
 * each as a process would (its output and exit code): a process each cost more to start than the
 * dry run. setup, status, the failures and everything after setup run as real processes.
 */
const host = new CliHost()
after(() => host.stop())

// Which commands had a real output validated (success, failure): the last test checks it is all of them.
const validated = new Map<string, Set<'ok' | 'failed'>>()

/**
 * Runs `cct <args> --json`, checks stdout is exactly one envelope valid against the command's
 * schema, and that nothing of the engine's vocabulary leaks into it.
 */
async function json(args: string[], expected: {code: number; inHost?: true}): Promise<Envelope & {run: CliResult}> {
  const command = args[0]!
  const run = await (expected.inHost ? host.run.bind(host) : cli)([...args, '--json'], sandbox().env)
  assert.equal(
    run.code,
    expected.code,
    `cct ${args.join(' ')} --json: exit ${run.code}\n${run.stderr}\n${run.stdout.slice(0, 2000)}`,
  )
  const body = JSON.parse(run.stdout) as Envelope // throws unless stdout is one JSON document
  const validate = schemaOf(command)
  assert.ok(
    validate(body),
    `cct ${args.join(' ')} --json does not match schemas/${command}.json:\n${ajv.errorsText(validate.errors, {separator: '\n'})}`,
  )
  assert.equal(body.command, command)
  assert.equal(body.ok, expected.code === 0, 'ok is false exactly when the exit code is not 0')
  if (body.error)
    assert.equal(body.error.exitCode, expected.code, 'the envelope says the exit code the process exits with')
  // The engine's words: run modes, placeholder ids, internal step statuses and fields
  // (a criterion's "target" is the runbook's word; the engine's was a boolean).
  assert.doesNotMatch(
    run.stdout,
    /pending:|"unplan"|"destroy"|"converged"|"planned"|"mode"|"target": (true|false)|"notes"/,
    `cct ${args.join(' ')}: internal words in --json`,
  )
  validated.set(command, new Set([...(validated.get(command) ?? []), body.ok ? 'ok' : 'failed']))
  return {...body, run}
}

const STEP_COMMANDS = ['vpc', 'sg', 'subnet-group', 'cluster', 'attach', 'layer', 'env', 'dashboard']

describe('one JSON envelope for every command', () => {
  it('on an account without the stack: every dry run, plan, status and rollback --dry-run', async () => {
    const setup = await json(['setup', '--dry-run', '--yes'], {code: 0})
    assert.equal(setup.stack, 'cct')
    assert.equal(setup.region, sandbox().region)
    assert.equal(setup.error, null)
    const plan = setup.result as StepsResult
    assert.equal(plan.dryRun, true)
    assert.equal(plan.awsCalls.mutating, 0)
    const vpc = plan.steps.find((s) => s.step === 'vpc')!
    // What a run would create has no id yet: null, and the step says so.
    assert.equal(vpc.status, 'would-change')
    assert.equal(vpc.willCreate, true)
    assert.equal(vpc.output!.vpcId, null)
    assert.ok(
      vpc.changes.some((c) => c.action === 'create' && c.resource === 'vpc' && c.name === 'cct-vpc'),
      JSON.stringify(vpc.changes),
    )
    // Each change carries the operation a run performs; the id it would create is null.
    assert.deepEqual(vpc.changes.find((c) => c.resource === 'vpc')!.operation, {
      kind: 'create-vpc',
      id: null,
      cidr: '10.0.0.0/16',
    })

    const planned = await json(['plan'], {code: 0, inHost: true})
    assert.deepEqual(
      (planned.result as StepsResult).steps.map((s) => s.step).sort(),
      (setup.result as StepsResult).steps.map((s) => s.step).sort(),
    )
    // Nothing of the stack exists: every resource is missing, which status reports with exit 8.
    await json(['status'], {code: 8})
    const rollback = await json(['rollback', '--dry-run'], {code: 0, inHost: true})
    assert.equal((rollback.result as StepsResult).dryRun, true)
    const policy = await json(['policy', 'verify'], {code: 0, inHost: true})
    assert.equal((policy.result as {for: string}).for, 'verify')
    await json(['policy', 'no-such-command'], {code: 2})
    for (let i = 0; i < STEP_COMMANDS.length; i += 2) {
      await Promise.all(
        STEP_COMMANDS.slice(i, i + 2).map(async (command) => {
          const r = await json([command, '--dry-run'], {code: 0, inHost: true})
          const steps = (r.result as StepsResult).steps
          assert.ok(
            steps.some((s) => s.requested),
            `${command}: its own step is requested`,
          )
          // A step only read because a requested one needs it is not called "unchanged" when it does not exist.
          for (const s of steps.filter((s) => !s.requested))
            assert.notEqual(s.status, 'unchanged', `${command}: ${s.step}`)
          if (command === 'cluster')
            assert.deepEqual(
              steps.filter((s) => !s.requested).map((s) => [s.step, s.status, s.willCreate]),
              [
                ['vpc', 'not-requested', true],
                ['sg', 'not-requested', true],
                ['subnet-group', 'not-requested', true],
              ],
            )
        }),
      )
    }
  })

  it('failures are envelopes too: bad flag value, unknown flag, a stack with no cache', async () => {
    const badCidr = await json(['vpc', '--cidr', 'nope'], {code: 2})
    assert.match(badCidr.error!.message, /not an IPv4 CIDR/)
    assert.ok(badCidr.error!.hint)
    assert.equal(badCidr.result, null)
    assert.equal(badCidr.stack, 'cct')

    // oclif rejects the flag before cct knows the stack: null, not a guess.
    const unknown = await json(['plan', '--no-such-flag'], {code: 2})
    assert.equal(unknown.stack, null)
    assert.match(unknown.error!.message, /no-such-flag/)

    const noCache = await json(['verify'], {code: 2})
    assert.match(noCache.error!.hint!, /cct setup/)
    const cost = await json(['cost', '--hours', '0'], {code: 2})
    assert.match(cost.error!.message, /--hours/)
  })

  it('after setup: setup itself, status, cost, verify passing and failing (exit 7, ok false, with its report)', async () => {
    const setup = await json(['setup', '--yes', '--functions', 'articles-api'], {code: 0})
    const applied = setup.result as StepsResult
    assert.equal(applied.dryRun, false)
    assert.ok(applied.awsCalls.mutating > 0)
    assert.ok(
      setup.warnings.some((w) => /no internet route/.test(w)),
      `the run's notes are warnings: ${JSON.stringify(setup.warnings)}`,
    )
    const cluster = applied.steps.find((s) => s.step === 'cluster')!
    assert.equal(cluster.willCreate, false)
    assert.match(String(cluster.output!.host), /cct-cache/)

    const status = await json(['status', '--functions', 'articles-api'], {code: 0})
    assert.ok(
      (status.result as {resources: {state: string}[]}).resources.every((r) => r.state === 'present'),
      JSON.stringify(status.result),
    )
    await json(['cost', '--hours', '1'], {code: 0})

    const passed = await json(['verify', '--hours', '1', '--functions', 'articles-api'], {code: 0})
    assert.equal((passed.result as {ok: boolean}).ok, true)

    // A function told to talk plain TCP to a TLS cache: verify fails, and says so in JSON.
    const lambda = new LambdaClient({
      endpoint: sandbox().endpoint,
      region: sandbox().region,
      credentials: {accessKeyId: 'test', secretAccessKey: 'test'},
    })
    const fn = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'articles-api'}))
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'articles-api',
        Environment: {Variables: {...fn.Environment!.Variables, REDIS_TLS: 'false'}},
      }),
    )
    const failed = await json(['verify', '--hours', '1', '--functions', 'articles-api'], {code: 7})
    assert.equal(failed.ok, false)
    assert.equal((failed.result as {ok: boolean}).ok, false, 'the report is there, with what failed')
    assert.match(failed.error!.message, /articles-api: env: REDIS_TLS/)
    assert.match(failed.error!.hint!, /cct env/)

    const rollback = await json(['rollback', '--dry-run'], {code: 0})
    assert.ok((rollback.result as StepsResult).steps.some((s) => s.changes.some((c) => c.action === 'delete')))
  })

  it('covers every command, and a failure of at least one', () => {
    assert.deepEqual([...validated.keys()].sort(), Object.keys(manifest.commands).sort())
    assert.ok([...validated.values()].some((s) => s.has('failed')))
  })
})
