/**
 * Bundles the CLI: one file per command plus shared chunks, instead of the thousands of
 * small modules the AWS SDK is made of. Loading those is most of what a `cct` process
 * spends before its first AWS request (module resolution and compilation, measured with
 * --cpu-prof). @oclif/core stays outside: bin/run.js loads it, and the commands must share
 * its classes.
 *   node --import tsx scripts/bundle-cli.ts
 */
import {readdirSync} from 'node:fs'
import {join} from 'node:path'

import {build} from 'esbuild'

const REPO_ROOT = join(import.meta.dirname, '..')
const commands = readdirSync(join(REPO_ROOT, 'src/commands'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(REPO_ROOT, 'src/commands', f))

const started = performance.now()
const result = await build({
  entryPoints: [...commands, join(REPO_ROOT, 'src/help.ts')],
  outbase: join(REPO_ROOT, 'src'),
  outdir: join(REPO_ROOT, 'dist'),
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  external: ['@oclif/core'],
  // The ES module builds (the AWS SDK's dist-es): a dynamic import of a CommonJS build in a
  // bundle yields only its default export, and cct imports the SDK clients lazily.
  mainFields: ['module', 'main'],
  // CommonJS dependencies require() Node's built-ins; an ES module has no require of its own.
  banner: {
    js: "import {createRequire as __cctRequire} from 'node:module'; const require = __cctRequire(import.meta.url);",
  },
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
})
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'))
const bytes = outputs.reduce((n, [, o]) => n + o.bytes, 0)
console.log(
  `dist/: ${outputs.length} bundled files, ${(bytes / 1024 / 1024).toFixed(1)} MiB (${Math.round(performance.now() - started)} ms)`,
)
