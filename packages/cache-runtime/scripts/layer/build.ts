import {createHash} from 'node:crypto'
import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {AUTO_CACHE, autoCacheFiles} from './auto-cache.js'
import {NODE_PACKAGE, bundleNode} from './bundle-node.js'
import {embedLua} from './lua.js'
import {REDIS_PY, redisPyFiles} from './python-deps.js'
import {deterministicZip} from './zip.js'

/** The layer cct publishes as `<stack>-cache-layer`. */
export const LAYER_ZIP = 'cct-cache-layer.zip'
export const LAYER_MANIFEST = 'cct-cache-layer.json'
/**
 * The runtimes and architectures the layer serves: the one list. The manifest carries it,
 * and the CLI publishes the layer for (and checks functions against) what the manifest says.
 */
export const COMPATIBLE_RUNTIMES = ['nodejs22.x', 'nodejs24.x', 'python3.12', 'python3.13'] as const
/** Pure JavaScript and pure Python: one zip serves both architectures. */
export const COMPATIBLE_ARCHITECTURES = ['x86_64', 'arm64'] as const

/** This package's folder (packages/cache-runtime): its sources, layer/ and build/. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export interface LayerManifest {
  name: string
  /** SHA-256 of the zip, hex. */
  sha256: string
  /** The same digest in base64: what Lambda reports as a layer version's CodeSha256. */
  codeSha256: string
  size: number
  compatibleRuntimes: string[]
  compatibleArchitectures: string[]
  node: {package: string; version: string; path: string; helperBytes: number; exports: string[]}
  python: {module: string; path: string; redisPy: string}
  /** The exec wrapper (AWS_LAMBDA_EXEC_WRAPPER=/opt/<wrapper>) and its hooks. */
  autoCache: {wrapper: string; python: string; node: string}
  files: number
}

export interface LayerBuild {
  zipPath: string
  manifestPath: string
  manifest: LayerManifest
  /** Every path in the zip, sorted. */
  paths: string[]
}

export interface BuildOptions {
  /** The package's folder (sources; node_modules are found from there up). Default: this checkout's. */
  root?: string
  /** Where pip's install of redis-py is cached. Default: <root>/build/layer-cache. */
  cacheDir?: string
}

/**
 * Build the layer zip and its manifest into outDir. Same sources -> same bytes.
 * The manifest holds no timestamp either, so it is as reproducible as the zip.
 */
export async function buildLayer(outDir: string, options: BuildOptions = {}): Promise<LayerBuild> {
  const root = options.root ?? PACKAGE_ROOT
  const cacheDir = options.cacheDir ?? join(root, 'build/layer-cache')
  const version = (await import('../../src/cache/index.js')).VERSION

  const [node, redisPy] = await Promise.all([bundleNode(root, version, cacheDir), redisPyFiles(cacheDir)])
  const files = new Map<string, Uint8Array>()
  const nodeDir = `nodejs/node_modules/${NODE_PACKAGE}`
  for (const [path, data] of node.files) files.set(`${nodeDir}/${path}`, data)
  files.set(
    'python/cache_helper.py',
    new TextEncoder().encode(embedLua(readFileSync(join(root, 'layer/python/cache_helper.py'), 'utf8'), root)),
  )
  for (const [path, data] of redisPy) files.set(`python/${path}`, data)
  for (const [path, data] of await autoCacheFiles(root)) files.set(path, data)

  const zip = deterministicZip(files, new Set([AUTO_CACHE.wrapper]))
  const digest = createHash('sha256').update(zip).digest()
  const manifest: LayerManifest = {
    name: 'cct-cache-layer',
    sha256: digest.toString('hex'),
    codeSha256: digest.toString('base64'),
    size: zip.byteLength,
    compatibleRuntimes: [...COMPATIBLE_RUNTIMES],
    compatibleArchitectures: [...COMPATIBLE_ARCHITECTURES],
    node: {
      package: NODE_PACKAGE,
      version,
      path: `${nodeDir}/index.js`,
      helperBytes: node.helperBytes,
      exports: node.exports,
    },
    python: {module: 'cache_helper', path: 'python/cache_helper.py', redisPy: REDIS_PY.version},
    autoCache: {wrapper: AUTO_CACHE.wrapper, python: AUTO_CACHE.python, node: AUTO_CACHE.node},
    files: files.size,
  }

  mkdirSync(outDir, {recursive: true})
  const zipPath = join(outDir, LAYER_ZIP)
  const manifestPath = join(outDir, LAYER_MANIFEST)
  // Write-then-rename: a reader never sees half a zip.
  writeFileSync(`${zipPath}.tmp`, zip)
  renameSync(`${zipPath}.tmp`, zipPath)
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`)
  return {zipPath, manifestPath, manifest, paths: [...files.keys()].sort()}
}
