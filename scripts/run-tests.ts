/**
 * `npm test`: every test file, two at a time, longest first (scripts/test-files.ts says why).
 * node's own `--test` sorts the files it is given by name, so the order needs node:test's
 * run(), which starts them as listed; each file still runs in its own process, with this
 * process's `--import tsx`. The report is node's: spec on a terminal, TAP in a pipe.
 *
 *   node --import tsx scripts/run-tests.ts [--concurrency 2] [file ...]
 */
import {join, resolve} from 'node:path'
import {run} from 'node:test'
import {spec, tap} from 'node:test/reporters'
import {parseArgs} from 'node:util'

import {testFiles} from './test-files.js'

const root = join(import.meta.dirname, '..')
const {values, positionals} = parseArgs({
  allowPositionals: true,
  options: {concurrency: {type: 'string', default: '2'}},
})
const files = positionals.length > 0 ? positionals.map((f) => resolve(f)) : testFiles(root)

const stream = run({files, concurrency: Number(values.concurrency)})
// The whole run's summary has no file; a failed test or file makes the exit code 1, as `node --test`'s.
stream.on('test:summary', (summary) => {
  if (summary.file === undefined && !summary.success) process.exitCode = 1
})
stream.compose(process.stdout.isTTY ? spec : tap).pipe(process.stdout)
