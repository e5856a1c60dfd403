import {zipSync, type Zippable} from 'fflate'

/**
 * A zip whose bytes depend only on its contents: entries sorted by path, one fixed
 * timestamp, fixed Unix permissions (0644), fixed compression level. So the same sources
 * give the same SHA-256, i.e. the same Lambda CodeSha256, and "publish only if changed"
 * works by comparing hashes.
 */
// fflate writes DOS time from local-time getters: build the date from local parts so
// every timezone writes 2020-01-01 00:00.
const FIXED_MTIME = new Date(2020, 0, 1, 0, 0, 0)
/** st_mode of a regular 0644 file in the upper 16 bits of the external attributes. */
const FILE_ATTRS = (0o100644 << 16) >>> 0
/** 0755: the exec wrapper, which Lambda runs as a program. */
const EXEC_ATTRS = (0o100755 << 16) >>> 0

export function deterministicZip(
  files: ReadonlyMap<string, Uint8Array>,
  executables: ReadonlySet<string> = new Set(),
): Uint8Array {
  const tree: Zippable = {}
  for (const path of [...files.keys()].sort()) {
    if (path.startsWith('/') || path.split('/').includes('..')) throw new Error(`bad zip path ${path}`)
    tree[path] = [
      files.get(path)!,
      {level: 9, mtime: FIXED_MTIME, os: 3, attrs: executables.has(path) ? EXEC_ATTRS : FILE_ATTRS},
    ]
  }
  return zipSync(tree)
}
