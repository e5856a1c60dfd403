/**
 * Where setup's and rollback's time goes: one run of each on the bench's sandbox, every
 * progress event with its time since the process started (`--progress json`), then its
 * AWS calls by operation: how many, and when the first and last were made (the call log
 * read as it grows, every 50 ms), with the Lambda control-plane calls that share the 15/s.
 *
 *   npm run build && node --import tsx bench/setup/timeline.ts [functions]
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {REPO_ROOT, startSandbox} from '../../sandbox/launcher.js'
import {seedAccount} from '../../sandbox/seed.js'
import {BENCH_FIDELITY} from './fidelity.js'

const n = Number(process.argv[2] ?? 5)
const sandbox = await startSandbox({redis: false, fidelity: BENCH_FIDELITY})
try {
  const {functionNames} = await seedAccount(sandbox, {functions: n})
  const cwd = mkdtempSync(join(tmpdir(), 'cct-timeline-'))
  for (const args of [
    ['setup', '--yes', '--nat', '--functions', functionNames.join(',')],
    ['rollback', '--yes'],
  ]) {
    const started = Date.now()
    const log = join(cwd, `${args[0]}.calls.jsonl`)
    const calls = watchCalls(log, started)
    await new Promise<void>((resolve) => {
      const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/run.js'), ...args, '--progress', 'json'], {
        cwd,
        env: {...process.env, ...sandbox.env, CCT_CALL_LOG: log},
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
    calls.report()
  }
} finally {
  await sandbox.stop()
}

/**
 * Lambda's control-plane calls that share its 15 requests a second (AWS's quotas:
 * GetFunction has 100/s and GetPolicy 15/s of their own).
 */
function sharesLambdaRate(c: {service: string; operation: string}): boolean {
  return c.service === 'lambda' && !['GetFunction', 'GetPolicy', 'Invoke'].includes(c.operation)
}

/** The call log's lines as they appear, each with the time it was first seen (50 ms resolution). */
function watchCalls(file: string, started: number) {
  const seen: {service: string; operation: string; at: number}[] = []
  const read = () => {
    if (!existsSync(file)) return
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean)
    const at = (Date.now() - started) / 1000
    for (const line of lines.slice(seen.length))
      seen.push({...(JSON.parse(line) as {service: string; operation: string}), at})
  }
  const timer = setInterval(read, 50)
  return {
    report() {
      clearInterval(timer)
      read()
      const by = new Map<string, {n: number; first: number; last: number}>()
      for (const c of seen) {
        const key = `${c.service}:${c.operation}`
        const e = by.get(key) ?? {n: 0, first: c.at, last: c.at}
        by.set(key, {n: e.n + 1, first: e.first, last: c.at})
      }
      // The calls before the first change, in order: what the plan waits for.
      const firstChange = seen.findIndex((c) => !/^(Describe|List|Get)/.test(c.operation))
      console.log(
        `  before the first change: ${seen
          .slice(0, firstChange)
          .map((c) => `${c.at.toFixed(2)} ${c.operation}`)
          .join(', ')}`,
      )
      console.log(`  ${seen.length} calls; by operation (count, first s, last s):`)
      for (const [key, e] of [...by].sort((a, b) => b[1].n - a[1].n))
        console.log(`    ${key} x${e.n} ${e.first.toFixed(2)}..${e.last.toFixed(2)}`)
      const shared = seen.filter(sharesLambdaRate)
      const perSecond = new Map<number, number>()
      for (const c of shared) perSecond.set(Math.floor(c.at), (perSecond.get(Math.floor(c.at)) ?? 0) + 1)
      console.log(
        `  Lambda calls on the shared 15/s: ${shared.length}; per second: ${[...perSecond].map(([s, n]) => `${s}:${n}`).join(' ')}`,
      )
    },
  }
}
