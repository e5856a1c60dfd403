#!/usr/bin/env node
// `cct --version` is what scripts and health checks ask most: answer it without loading
// oclif (about 150 ms), in oclif's own format.
const argv = process.argv.slice(2)
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  const {readFileSync} = await import('node:fs')
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`${pkg.name}/${pkg.version} ${process.platform}-${process.arch} node-${process.version}\n`)
} else {
  // Compiled code cached on disk (Node 22.1+): a second run skips compiling the bundle.
  const {enableCompileCache} = await import('node:module')
  enableCompileCache?.()
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
