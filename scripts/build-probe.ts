/**
 * Build verify's in-VPC probe: dist/probe/cct-probe.zip, reproducibly (same source, same
 * CodeSha256), so `cct setup` updates the probe only when its code changed.
 *   node --import tsx scripts/build-probe.ts [outDir]
 */
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {deterministicZip} from '@cct/cache-runtime/zip'

const REPO_ROOT = join(import.meta.dirname, '..')

const outDir = process.argv[2] ?? join(REPO_ROOT, 'dist/probe')
mkdirSync(outDir, {recursive: true})
const zip = deterministicZip(new Map([['index.mjs', readFileSync(join(REPO_ROOT, 'templates/probe/index.mjs'))]]))
writeFileSync(join(outDir, 'cct-probe.zip'), zip)
console.log(`dist/probe/cct-probe.zip: ${zip.length} bytes`)
