import {createHash} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import {CctError} from './errors.js'

export interface LayerBundle {
  zip: Buffer
  /** Hex SHA-256 of the zip: the bundle's version. */
  sha256: string
  size: number
}

/** The package's root: the nearest folder up from this module with a package.json (src/ and dist/ sit at different depths in it). */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) return join(from, '..')
  }
}

/** dist/layer in the package, in the repository and in the installed npm package alike. */
export const BUNDLE_DIR = join(packageRoot(import.meta.dirname), 'dist', 'layer')
const ZIP = 'cct-cache-layer.zip'
const MANIFEST = 'cct-cache-layer.json'

/** The Lambda runtimes and architectures the prebuilt cache layer serves. */
export interface LayerTargets {
  runtimes: string[]
  architectures: string[]
}

let targets: LayerTargets | undefined

/**
 * What the layer is built for, as its build recorded it in the manifest beside the zip:
 * the list lives once, in the layer build (packages/cache-runtime/scripts/layer/build.ts).
 */
export function layerTargets(): LayerTargets {
  if (targets) return targets
  const path = join(BUNDLE_DIR, MANIFEST)
  let manifest: {compatibleRuntimes?: string[]; compatibleArchitectures?: string[]}
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    throw new CctError(`The cache layer bundle's manifest ${path} is missing or unreadable`, {
      hint: 'Reinstall cct, or run `npm run build` in its checkout',
    })
  }
  if (!manifest.compatibleRuntimes?.length || !manifest.compatibleArchitectures?.length) {
    throw new CctError(`The cache layer bundle's manifest ${path} names no runtimes or architectures`, {
      hint: 'Reinstall cct, or run `npm run build` in its checkout',
    })
  }
  targets = {runtimes: manifest.compatibleRuntimes, architectures: manifest.compatibleArchitectures}
  return targets
}

/** The prebuilt layer zip shipped with cct (built reproducibly by `npm run build`). */
export async function loadBundle(dir = BUNDLE_DIR): Promise<LayerBundle> {
  let zip: Buffer
  try {
    zip = await readFile(join(dir, ZIP))
  } catch {
    throw new CctError(`The cache layer bundle ${join(dir, ZIP)} is missing`, {
      hint: 'Reinstall cct, or run `npm run build` in its checkout',
    })
  }
  return {zip, sha256: createHash('sha256').update(zip).digest('hex'), size: zip.length}
}
