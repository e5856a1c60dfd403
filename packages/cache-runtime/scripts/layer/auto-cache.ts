import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {build} from 'esbuild'

/**
 * Zero-code caching in the layer: the exec wrapper at the layer's root (Lambda unpacks it
 * to /opt/cct-auto-cache; AWS_LAMBDA_EXEC_WRAPPER points there) and the hooks it loads,
 * beside it in cct-auto-cache.d/ (outside python/ and nodejs/, so nothing is imported
 * unless the wrapper is on).
 */
export const AUTO_CACHE = {
  wrapper: 'cct-auto-cache',
  python: 'cct-auto-cache.d/python/cct_auto_cache.py',
  node: 'cct-auto-cache.d/node/hook.cjs',
} as const

export async function autoCacheFiles(root: string): Promise<Map<string, Uint8Array>> {
  const templates = join(root, 'layer/auto-cache')
  const files = new Map<string, Uint8Array>()
  files.set(AUTO_CACHE.wrapper, readFileSync(join(templates, 'cct-auto-cache')))
  for (const name of ['sitecustomize.py', 'cct_auto_cache.py'])
    files.set(`cct-auto-cache.d/python/${name}`, readFileSync(join(templates, 'python', name)))
  const hook = await build({
    entryPoints: [join(root, 'src/auto-cache/node-hook.ts')],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    write: false,
    absWorkingDir: root,
    legalComments: 'none',
    logLevel: 'silent',
    // The helper is the layer's own cct-cache package, required at run time: one client
    // per container, shared with a function that also uses cct-cache itself.
    external: ['cct-cache'],
  })
  files.set(AUTO_CACHE.node, hook.outputFiles[0]!.contents)
  return files
}
