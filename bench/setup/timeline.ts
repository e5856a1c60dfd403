/**
 * Where setup's and rollback's time goes: one run of each on the bench's sandbox, every
 * progress event with its time since the process started (`--progress json`).
 *
 *   npm run build && node --import tsx bench/setup/timeline.ts [functions]
 */
import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {REPO_ROOT, startSandbox} from '../../sandbox/launcher.js'
import {seedAccount} from '../../sandbox/seed.js'

const n = Number(process.argv[2] ?? 5)
const sandbox = await startSandbox({
  redis: false,
  fidelity: {
    replicationGroupCreateSeconds: 20,
    replicationGroupDeleteSeconds: 10,
    lambdaUpdateSeconds: 2,
    eniLingerSeconds: 10,
  },
})
try {
  const {functionNames} = await seedAccount(sandbox, {functions: n})
  const cwd = mkdtempSync(join(tmpdir(), 'cct-timeline-'))
  for (const args of [
    ['setup', '--yes', '--nat', '--functions', functionNames.join(',')],
    ['rollback', '--yes'],
  ]) {
    const started = Date.now()
    await new Promise<void>((resolve) => {
      const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/run.js'), ...args, '--progress', 'json'], {
        cwd,
        env: {...process.env, ...sandbox.env},
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      let buffered = ''
      const waits = new Set<string>()
      child.stderr.on('data', (d: Buffer) => {
        buffered += d.toString()
        const lines = buffered.split('\n')
        buffered = lines.pop()!
        for (const line of lines) {
          const at = ((Date.now() - started) / 1000).toFixed(2)
          try {
            // --progress json's public words (src/ui/progress/json-lines.ts): `event`, `step`.
            const e = JSON.parse(line) as {
              event: string
              step?: string
              for?: string
              message?: string
              seconds?: number
            }
            // A wait is told at each poll: its start is what places it on the timeline.
            if (e.event === 'waiting' && waits.has(e.for!)) continue
            if (e.event === 'waiting') waits.add(e.for!)
            console.log(
              `${at} ${args[0]} ${e.event} ${e.step ?? ''} ${e.message ?? ''}${e.seconds ? ` [${e.seconds}s]` : ''}`,
            )
          } catch {
            console.log(`${at} ${line}`)
          }
        }
      })
      child.on('exit', () => {
        console.log(`${((Date.now() - started) / 1000).toFixed(2)} ${args[0]} exited`)
        resolve()
      })
    })
  }
} finally {
  await sandbox.stop()
}
