/**
 * The full kill-point sweep of issue #12 item 14 (too slow for the test suite, which runs a
 * sample: test/e2e/kill-points.test.ts): for every mutating call N of setup, and then of
 * rollback, on a fresh seeded sandbox, SIGKILL cct right after call N, check that every
 * change to what cct does not own has its record, run the same command again (after setup:
 * `cct status` finds nothing missing), then rollback, and compare the account with its
 * snapshot from before setup. Results: bench/results/kill-points-<date>.md.
 *
 *   npm run build && node --import tsx scripts/kill-points.ts [--only setup|rollback] [--from N] [--to N] [--by call|index] [--out file.json]
 *
 * --by call (the default) kills after each call of the counted run by its operation and
 * occurrence (the 2nd CreateRoute), so every call is a kill point however concurrent steps
 * order them; --by index kills after the Nth mutating call, whatever it is in that run.
 */
import {writeFileSync} from 'node:fs'
import {parseArgs} from 'node:util'

import {startSandbox} from '../sandbox/launcher.js'
import {seedAccount} from '../sandbox/seed.js'
import {
  afterNth,
  FaultProxy,
  KillPoints,
  type KillAt,
  type KillCommand,
  type KillPointResult,
} from '../test/support/kill-points.js'

const {values} = parseArgs({
  options: {
    only: {type: 'string'},
    from: {type: 'string'},
    to: {type: 'string'},
    out: {type: 'string'},
    by: {type: 'string', default: 'call'},
  },
})
Object.assign(process.env, {
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_EC2_METADATA_DISABLED: 'true',
})
delete process.env.AWS_PROFILE

const sandbox = await startSandbox({
  redis: false,
  fidelity: {replicationGroupCreateSeconds: 1, replicationGroupDeleteSeconds: 1, eniLingerSeconds: 1},
})
const proxy = await new FaultProxy(sandbox.endpoint).start()
const points = new KillPoints(sandbox, proxy)
const fresh = async () => {
  await sandbox.reset()
  await seedAccount(sandbox)
}
const results: KillPointResult[] = []
try {
  await fresh()
  const counts = await points.count()
  console.log(`mutating calls: setup ${counts.setup}, rollback ${counts.rollback}`)
  const commands: KillCommand[] = values.only ? [values.only as KillCommand] : ['setup', 'rollback']
  for (const command of commands) {
    const from = Number(values.from ?? 1)
    const to = Math.min(Number(values.to ?? counts[command]), counts[command])
    for (let n = from; n <= to; n++) {
      await fresh()
      const started = Date.now()
      // --by call (the default): the nth call's operation and occurrence in the counted run.
      const operation = counts.operations[command][n - 1]!
      const nth = counts.operations[command].slice(0, n).filter((o) => o === operation).length
      const at: KillAt = values.by === 'index' ? n : afterNth(operation, nth)
      const result = await points.point(command, at)
      results.push({...result, ...(values.by === 'index' ? {} : {call: `${operation} #${nth}`})})
      console.log(
        `${command} ${n}/${counts[command]} ${values.by === 'index' ? '' : `${operation} #${nth} `}${result.operation ?? '?'} (call ${result.n}): ${result.converged ? 'converged' : `NOT ${result.problem}`} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
      )
      if (values.out) writeFileSync(values.out, JSON.stringify({counts, results}, null, 2))
    }
  }
  for (const command of commands) {
    const mine = results.filter((r) => r.command === command)
    console.log(`${command}: ${mine.filter((r) => r.converged).length} of ${mine.length} kill points converge`)
  }
} finally {
  await proxy.stop()
  await sandbox.stop()
}
process.exit(results.every((r) => r.converged) ? 0 : 1)
