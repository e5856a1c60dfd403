/**
 * The whole suite, file by file: each test file's wall time, CPU time and its tests/pass/fail,
 * run two files at a time like `npm test`,
 * with the machine's load sampled through the run (the machine is shared: the numbers mean
 * little without it). Writes bench/results/suite-<date>-<label>.{json,md}.
 *
 * CPU: the file's process and every child it waited for (CLI processes, redis-servers), plus
 * the moto servers it stopped (sandbox/zygote.ts reports them; CCT_SANDBOX_CPU_LOG).
 *
 * Run: node --import tsx bench/suite/run.ts [--label before] [--concurrency 2] [--order glob|longest]
 *        [--write-durations] [file ...]
 * `--write-durations` records each file's wall time in test/durations.json (what `npm test` orders by).
 * `--order longest` starts the files in the order `scripts/test-files.ts` gives `npm test`.
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {parseArgs} from 'node:util'

import {testFiles} from '../../scripts/test-files.js'
import {machine} from '../machine.js'

const root = join(import.meta.dirname, '..', '..')
const {values, positionals} = parseArgs({
  allowPositionals: true,
  options: {
    label: {type: 'string', default: 'run'},
    concurrency: {type: 'string', default: '2'},
    order: {type: 'string', default: 'longest'},
    'write-durations': {type: 'boolean', default: false},
  },
})

interface FileResult {
  file: string
  wallS: number
  cpuS: number
  /** Of cpuS, the sandbox's moto servers (forked by the zygote, so not the test's children: sandbox/zygote.ts). */
  motoCpuS: number
  tests: number
  pass: number
  fail: number
  failed: string[]
  startedAtS: number
}

const files = positionals.length > 0 ? positionals : testFiles(root, values.order === 'longest')
const logs = mkdtempSync(join(tmpdir(), 'cct-suite-'))
const loads: number[] = []
const sampler = setInterval(() => loads.push(loadavg()[0]!), 5000)
const t0 = process.hrtime.bigint()
const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9

/** One file in its own `node --test` process under /usr/bin/time (CPU of the whole waited tree). */
function runFile(file: string): Promise<FileResult> {
  const name = relative(root, file).replaceAll('/', '_')
  const timeFile = join(logs, `${name}.time`)
  const logFile = join(logs, `${name}.tap`)
  const motoFile = join(logs, `${name}.moto`)
  const startedAtS = seconds(t0)
  const started = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    const child = spawn(
      '/usr/bin/time',
      ['-f', '%U %S', '-o', timeFile, process.execPath, '--import', 'tsx', '--test', '--test-reporter=tap', file],
      {cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, CCT_SANDBOX_CPU_LOG: motoFile}},
    )
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    child.on('error', reject)
    child.on('close', () => {
      writeFileSync(logFile, out)
      const wallS = seconds(started)
      const [user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number)
      const moto = existsSync(motoFile)
        ? readFileSync(motoFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .reduce((s, l) => s + Number(l), 0)
        : 0
      const count = (what: string) => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(out)?.[1] ?? 0)
      const failed = [...out.matchAll(/^\s*not ok \d+ - (.*)$/gm)].map((m) => m[1]!)
      resolve({
        file: relative(root, file),
        wallS: round(wallS),
        cpuS: round((user ?? 0) + (sys ?? 0) + moto),
        motoCpuS: round(moto),
        tests: count('tests'),
        pass: count('pass'),
        fail: count('fail'),
        failed,
        startedAtS: round(startedAtS),
      })
    })
  })
}

const round = (n: number) => Math.round(n * 10) / 10

const queue = [...files]
const results: FileResult[] = []
async function worker(): Promise<void> {
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const r = await runFile(file)
    results.push(r)
    console.log(
      `${r.file.padEnd(58)} ${String(r.wallS).padStart(6)} s wall ${String(r.cpuS).padStart(6)} s cpu (moto ${r.motoCpuS})  ${r.pass}/${r.tests}${r.fail ? `  FAIL ${r.fail}: ${r.failed.join('; ')}` : ''}`,
    )
  }
}
const loadAtStart = loadavg()
await Promise.all(Array.from({length: Number(values.concurrency)}, worker))
clearInterval(sampler)
const totalS = round(seconds(t0))

results.sort((a, b) => b.wallS - a.wallS)
const sum = (f: (r: FileResult) => number) => round(results.reduce((s, r) => s + f(r), 0))
const load = {
  atStart: loadAtStart.map(round),
  min: round(Math.min(...loads)),
  mean: round(loads.reduce((s, l) => s + l, 0) / Math.max(loads.length, 1)),
  max: round(Math.max(...loads)),
}
const summary = {
  benchmark: 'suite',
  label: values.label,
  date: new Date().toISOString(),
  command: `node --import tsx bench/suite/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
  concurrency: Number(values.concurrency),
  order: positionals.length > 0 ? 'given' : values.order,
  machine: machine(),
  load,
  totalWallS: totalS,
  totalCpuS: sum((r) => r.cpuS),
  tests: sum((r) => r.tests),
  pass: sum((r) => r.pass),
  fail: sum((r) => r.fail),
  files: results,
  logs,
}
console.log(
  `\ntotal ${totalS} s wall, ${summary.totalCpuS} s cpu, ${summary.pass}/${summary.tests} passed; ` +
    `1-min load: ${load.atStart[0]} at start, ${load.min}–${load.max} (mean ${load.mean}); logs in ${logs}`,
)

const dir = join(root, 'bench', 'results')
mkdirSync(dir, {recursive: true})
const base = join(dir, `suite-${summary.date.slice(0, 10)}-${values.label}`)
writeFileSync(`${base}.json`, JSON.stringify(summary, null, 2) + '\n')
const md = [
  `# suite, ${values.label} (${summary.date})`,
  '',
  `\`${summary.command}\` — ${summary.concurrency} files at a time, order ${summary.order}; ` +
    `${summary.machine.cores} × ${summary.machine.cpu}; 1-min load ${load.atStart[0]} at start, ` +
    `${load.min}–${load.max} during (mean ${load.mean}).`,
  '',
  `Total: **${totalS} s** wall, ${summary.totalCpuS} s CPU, ${summary.pass}/${summary.tests} tests passed.`,
  '',
  '| file | wall s | cpu s | of which moto | tests | fail |',
  '|---|---:|---:|---:|---:|---:|',
  ...results.map((r) => `| ${r.file} | ${r.wallS} | ${r.cpuS} | ${r.motoCpuS} | ${r.tests} | ${r.fail || ''} |`),
  '',
].join('\n')
writeFileSync(`${base}.md`, md)
console.log(`recorded in ${relative(root, base)}.{json,md}`)
if (values['write-durations']) {
  // What scripts/test-files.ts orders `npm test` by: the wall seconds of each file, longest first.
  const durations = Object.fromEntries(results.map((r) => [r.file, Math.round(r.wallS)]))
  writeFileSync(join(root, 'test', 'durations.json'), JSON.stringify(durations, null, 2) + '\n')
  console.log('wrote test/durations.json')
}
