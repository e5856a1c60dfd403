import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join, normalize} from 'node:path'

import {unzipSync} from 'fflate'

/** Unpack a layer zip the way Lambda does (into /opt), here into `dir`. Returns the paths. */
export function extractLayer(zipPath: string, dir: string): string[] {
  const entries = unzipSync(readFileSync(zipPath))
  const paths = Object.keys(entries).sort()
  for (const path of paths) {
    if (path.endsWith('/')) continue
    const target = normalize(join(dir, path))
    if (!target.startsWith(normalize(dir))) throw new Error(`zip entry escapes the target: ${path}`)
    mkdirSync(dirname(target), {recursive: true})
    writeFileSync(target, entries[path]!)
  }
  return paths
}
