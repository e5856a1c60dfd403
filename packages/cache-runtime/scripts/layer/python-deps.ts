import {execFile} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {promisify} from 'node:util'

const run = promisify(execFile)

/**
 * redis-py for the Python half of the layer: one pinned version, checked against a
 * pinned wheel hash, installed with pip (--no-deps: it has no runtime deps on 3.12+)
 * from the local package index, and cached under build/ so later builds do not run pip.
 */
export const REDIS_PY = {
  version: '8.1.0',
  sha256: 'a4fe1aac3d3b3cc791d4b3d5931c5a956045dc951ee74d1c913ee3ac4d2ee9fb',
} as const

/** pip's index: CCT_PIP_INDEX_URL, else the machine's local mirror when present, else pip's config. */
function indexArgs(): string[] {
  const url = process.env.CCT_PIP_INDEX_URL ?? (existsSync('/opt/pypi/simple') ? 'file:///opt/pypi/simple' : undefined)
  return url ? ['--index-url', url] : []
}

/** Files of the installed redis-py, relative to the layer's python/ folder. */
export async function redisPyFiles(
  cacheRoot: string,
  python = process.env.PYTHON ?? 'python3',
): Promise<Map<string, Uint8Array>> {
  const target = join(cacheRoot, `redis-py-${REDIS_PY.version}`)
  if (!existsSync(join(target, '.complete'))) await install(target, python)
  const files = new Map<string, Uint8Array>()
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) {
        // Bytecode is Python-version specific and timestamped: never ship it.
        if (name !== '__pycache__') walk(path)
        continue
      }
      if (name === '.complete' || name.endsWith('.pyc')) continue
      // Machine-specific install records (a direct_url.json holds a local path).
      if (name === 'direct_url.json') continue
      files.set(relative(target, path).split('\\').join('/'), readFileSync(path))
    }
  }
  walk(target)
  return files
}

async function install(target: string, python: string): Promise<void> {
  // Install beside the cache and rename: concurrent builds never see a half-done folder.
  const staging = `${target}.tmp-${process.pid}-${Date.now()}`
  mkdirSync(staging, {recursive: true})
  const requirements = join(staging, '.requirements.txt')
  writeFileSync(requirements, `redis==${REDIS_PY.version} --hash=sha256:${REDIS_PY.sha256}\n`)
  const dest = join(staging, 'site')
  try {
    await run(
      python,
      [
        '-m',
        'pip',
        'install',
        '--no-deps',
        '--no-compile',
        '--disable-pip-version-check',
        '--no-input',
        '--require-hashes',
        ...indexArgs(),
        '--target',
        dest,
        '-r',
        requirements,
      ],
      {env: {...process.env, PIP_NO_CACHE_DIR: '1'}, maxBuffer: 16 * 1024 * 1024},
    )
  } catch (error) {
    rmSync(staging, {recursive: true, force: true})
    const detail = (error as {stderr?: string}).stderr?.trim().split('\n').slice(-3).join('\n') ?? String(error)
    throw new Error(`pip could not install redis==${REDIS_PY.version} for the layer:\n${detail}`)
  }
  writeFileSync(join(dest, '.complete'), '')
  try {
    renameSync(dest, target)
  } catch {
    // Another build finished first (its copy is the same pinned, hash-checked wheel), or a
    // crashed build left a half-done folder without .complete: replace only the latter.
    if (!existsSync(join(target, '.complete'))) {
      rmSync(target, {recursive: true, force: true})
      renameSync(dest, target)
    }
  }
  rmSync(staging, {recursive: true, force: true})
}
