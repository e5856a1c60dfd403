/**
 * The files `npm test` runs, and the order it starts them in. Two run at a time on a 2-core
 * machine, so the suite takes as long as its busier worker: a long file started last (policy,
 * kill-points) runs alone at the end while the other worker sits idle. Started longest first
 * (by `test/durations.json`, the wall seconds each took in the last measured run;
 * `node --import tsx bench/suite/run.ts` measures them), the two workers finish together.
 * A file not in the list yet starts first: its duration is unknown, so it is treated as long.
 */
import {globSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

export const patterns = ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts']

export function testFiles(root: string, longestFirst = true): string[] {
  const files = patterns.flatMap((p) => globSync(p, {cwd: root})).sort()
  if (!longestFirst) return files.map((f) => join(root, f))
  const durations = JSON.parse(readFileSync(join(root, 'test', 'durations.json'), 'utf8')) as Record<string, number>
  const seconds = (f: string) => durations[f] ?? Number.POSITIVE_INFINITY
  return files.sort((a, b) => seconds(b) - seconds(a)).map((f) => join(root, f))
}
