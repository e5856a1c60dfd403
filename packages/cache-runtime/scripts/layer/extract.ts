import {chmodSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join, normalize} from 'node:path'

import {unzipSync} from 'fflate'

/**
 * Unpack a layer zip the way Lambda does (into /opt), here into `dir`, with each file's
 * Unix mode from the zip (the exec wrapper must stay executable, as Lambda keeps it).
 * Returns the paths.
 */
export function extractLayer(zipPath: string, dir: string): string[] {
  const data = readFileSync(zipPath)
  const entries = unzipSync(data)
  const modes = unixModes(data)
  const paths = Object.keys(entries).sort()
  for (const path of paths) {
    if (path.endsWith('/')) continue
    const target = normalize(join(dir, path))
    if (!target.startsWith(normalize(dir))) throw new Error(`zip entry escapes the target: ${path}`)
    mkdirSync(dirname(target), {recursive: true})
    writeFileSync(target, entries[path]!)
    chmodSync(target, modes.get(path) || 0o644)
  }
  return paths
}

/**
 * Permission bits per entry, from the central directory: a Unix zip (made-by OS 3) keeps
 * st_mode in the upper 16 bits of the external attributes (what fflate's unzip drops).
 */
export function unixModes(zip: Uint8Array): Map<string, number> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength)
  let end = -1
  // The end-of-central-directory record is in the last 22 bytes + up to 64 KiB of comment.
  for (let i = zip.byteLength - 22; i >= Math.max(0, zip.byteLength - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i
      break
    }
  }
  if (end < 0) throw new Error('not a zip: no end of central directory')
  const count = view.getUint16(end + 10, true)
  let at = view.getUint32(end + 16, true)
  const modes = new Map<string, number>()
  const decoder = new TextDecoder()
  for (let n = 0; n < count; n++) {
    if (view.getUint32(at, true) !== 0x02014b50) throw new Error('bad zip central directory')
    const madeBy = view.getUint8(at + 5)
    const nameLength = view.getUint16(at + 28, true)
    const extraLength = view.getUint16(at + 30, true)
    const commentLength = view.getUint16(at + 32, true)
    const external = view.getUint32(at + 38, true)
    const name = decoder.decode(zip.subarray(at + 46, at + 46 + nameLength))
    if (madeBy === 3) modes.set(name, (external >>> 16) & 0o777)
    at += 46 + nameLength + extraLength + commentLength
  }
  return modes
}
