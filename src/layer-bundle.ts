import {createHash} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {CctError} from './errors.js'

/** The Lambda runtimes and architectures the prebuilt cache layer serves. */
export const LAYER_RUNTIMES = ['nodejs22.x', 'nodejs24.x', 'python3.12', 'python3.13']
export const LAYER_ARCHITECTURES = ['x86_64', 'arm64']

export interface LayerBundle {
  zip: Buffer
  /** Hex SHA-256 of the zip: the bundle's version. */
  sha256: string
  size: number
}

/** dist/layer beside this module, in the repository and in the installed npm package alike. */
export const BUNDLE_DIR = join(import.meta.dirname, '..', 'dist', 'layer')
const ZIP = 'cct-cache-layer.zip'

/** The prebuilt layer zip shipped with cct (built reproducibly by `npm run build`). */
export async function loadBundle(dir = BUNDLE_DIR): Promise<LayerBundle> {
  let zip: Buffer
  try {
    zip = await readFile(join(dir, ZIP))
  } catch {
    throw new CctError(`The cache layer bundle ${join(dir, ZIP)} is missing`, {hint: 'Reinstall cct, or run `npm run build` in its checkout'})
  }
  return {zip, sha256: createHash('sha256').update(zip).digest('hex'), size: zip.length}
}
