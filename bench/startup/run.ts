/**
 * How long `cct --version` and `cct --help` take against bare `node -e 0`, measured in
 * the same run (interleaved, so machine noise hits all three alike). Aim: --version
 * within 100 ms of bare node. Run: node --import tsx bench/startup/run.ts [runs]
 */
import {spawnSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {machine} from '../machine.js'

const root = join(import.meta.dirname, '..', '..')
const bin = join(root, 'bin', 'run.js')
const runs = Number(process.argv[2] ?? 21)

const cases: Record<string, string[]> = {
  'node -e 0': ['-e', '0'],
  'cct --version': [bin, '--version'],
  'cct --help': [bin, '--help'],
}

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
for (let i = 0; i < runs + 2; i++) {
  for (const [name, args] of Object.entries(cases)) {
    const start = process.hrtime.bigint()
    const result = spawnSync(process.execPath, args, {cwd: root, encoding: 'utf8'})
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    if (result.status !== 0) throw new Error(`${name} failed: ${result.stderr}`)
    if (i >= 2) samples[name]!.push(ms) // two warm-up rounds fill the page cache
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const baseline = median(samples['node -e 0']!)
const rows = Object.entries(samples).map(([name, xs]) => ({
  name,
  medianMs: Math.round(median(xs) * 10) / 10,
  overNodeMs: Math.round((median(xs) - baseline) * 10) / 10,
  ratio: Math.round((median(xs) / baseline) * 100) / 100,
}))

for (const r of rows)
  console.log(
    `${r.name.padEnd(14)} median ${String(r.medianMs).padStart(6)} ms   +${String(r.overNodeMs).padStart(6)} ms over node   x${r.ratio}`,
  )
const version = rows.find((r) => r.name === 'cct --version')!
console.log(
  `aim: cct --version within 100 ms of bare node -> ${version.overNodeMs <= 100 ? 'met' : 'NOT met'} (+${version.overNodeMs} ms)`,
)

const date = new Date().toISOString().slice(0, 10)
const dir = join(root, 'bench', 'results')
mkdirSync(dir, {recursive: true})
writeFileSync(
  join(dir, `startup-${date}.json`),
  JSON.stringify(
    {benchmark: 'startup', date: new Date().toISOString(), runs, machine: machine(), results: rows},
    null,
    2,
  ) + '\n',
)
console.log(`recorded in bench/results/startup-${date}.json`)
