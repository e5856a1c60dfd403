import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, relative} from 'node:path'

import {generateDtsBundle} from 'dts-bundle-generator'
import {build, type Plugin} from 'esbuild'

import {luaInline} from './lua.js'

/**
 * The Node half of the layer: src/cache bundled with ioredis into one minified CommonJS
 * file, plus an ESM entry, types and a package.json, as `nodejs/node_modules/cct-cache/`.
 * Lambda resolves that folder for both `require('cct-cache')` and `import 'cct-cache'`.
 */
export const NODE_PACKAGE = 'cct-cache'

export interface NodeBundle {
  /** Paths relative to the package folder -> contents. */
  files: Map<string, Uint8Array>
  /** Size of the bundled helper (index.js), the file Lambda loads at init. */
  helperBytes: number
  exports: string[]
}

/**
 * Things ioredis bundles that a Lambda helper never uses, swapped for stubs to keep the
 * file small (init time is parse time). Each is unreachable from our code:
 * - Redis Cluster: Redis.js requires it only to expose `Redis.Cluster`; we use `Redis`.
 *   A sharded cache (REDIS_CLUSTER=true) loads the real one from a file of its own,
 *   `ioredis-cluster.js` (clusterBundle below), only when it first connects.
 * - TLS profiles: CA bundles for a hosted service, used only when `tls` is a profile
 *   name; we pass an options object.
 * - debug: ioredis' DEBUG=ioredis:* tracing.
 * And one speed-up that changes no behaviour, see fastCommanderSetup.
 */
function ioredisStubs(root: string, withCluster = false): Plugin {
  const stub = (contents: string) => ({contents, loader: 'js' as const, resolveDir: root})
  return {
    name: 'cct-ioredis-stubs',
    setup(b) {
      // The helper's own bundle leaves the cluster client to its separate file.
      b.onResolve({filter: /^\.\/ioredis-cluster\.js$/}, () =>
        withCluster ? undefined : {path: `./${CLUSTER_FILE}`, external: true},
      )
      // The package entry re-exports everything (Cluster, Sentinel types...); go to Redis.
      if (!withCluster) b.onResolve({filter: /^ioredis$/}, () => ({path: 'ioredis', namespace: 'cct-stub'}))
      b.onResolve({filter: /^debug$/}, () => ({path: 'debug', namespace: 'cct-stub'}))
      b.onResolve({filter: /^\.\/cluster$/}, (args) =>
        !withCluster && /ioredis[\\/]built[\\/]Redis\.js$/.test(args.importer)
          ? {path: 'cluster', namespace: 'cct-stub'}
          : undefined,
      )
      b.onResolve({filter: /constants[\\/]TLSProfiles$/}, () => ({path: 'tls-profiles', namespace: 'cct-stub'}))
      b.onLoad({filter: /^ioredis$/, namespace: 'cct-stub'}, () =>
        stub("const Redis = require('ioredis/built/Redis').default; module.exports = {Redis, default: Redis}"),
      )
      b.onLoad({filter: /^debug$/, namespace: 'cct-stub'}, () =>
        stub(
          'function debug() { const log = () => {}; log.enabled = false; log.extend = debug; return log }\n' +
            'debug.enable = () => {}; debug.disable = () => {}; debug.enabled = () => false\n' +
            'module.exports = debug; module.exports.default = debug',
        ),
      )
      b.onLoad({filter: /^(cluster|tls-profiles)$/, namespace: 'cct-stub'}, () =>
        stub('module.exports = {default: {}}'),
      )
      b.onLoad({filter: /ioredis[\\/]built[\\/]utils[\\/]Commander\.js$/}, (args) => ({
        contents: fastCommanderSetup(readFileSync(args.path, 'utf8')),
        loader: 'js',
      }))
      b.onLoad({filter: /@ioredis[\\/]commands[\\/]built[\\/]commands\.json$/}, (args) => ({
        contents: JSON.stringify(slimCommands(JSON.parse(readFileSync(args.path, 'utf8')), queriedFlags(root))),
        loader: 'json',
      }))
    },
  }
}

/**
 * ioredis adds ~480 command methods to a class prototype at load. V8 keeps a fresh class
 * prototype in fast mode, where every added property copies its shape: this loop alone
 * took ~20 ms of a cold start. Adding and deleting one property first moves the
 * prototype to dictionary mode, where additions are cheap (~0.5 ms); V8 makes it fast
 * again when it is first used as a prototype, so calls are unaffected.
 */
export function fastCommanderSetup(source: string): string {
  const anchor = 'const commands = commands_1.list.filter('
  if (!source.includes(anchor))
    throw new Error('ioredis Commander.js changed: review fastCommanderSetup in scripts/layer/bundle-node.ts')
  return source.replace(
    anchor,
    `Commander.prototype.__cctDictionaryMode = 0;\ndelete Commander.prototype.__cctDictionaryMode;\n${anchor}`,
  )
}

type CommandSpec = {flags: string[]; arity?: number; subcommands?: Record<string, CommandSpec>} & Record<
  string,
  unknown
>

/**
 * @ioredis/commands ships metadata for every Redis command (100 KB of JSON). ioredis
 * reads only: the command list, top-level flags it asks hasFlag() about, and key
 * positions (getKeyIndexes, which walks subcommands). Drop the rest: arity everywhere,
 * flags nobody queries, and subcommand flags (never read).
 */
export function slimCommands(
  commands: Record<string, CommandSpec>,
  keepFlags: ReadonlySet<string>,
): Record<string, unknown> {
  const slim: Record<string, unknown> = {}
  for (const [name, spec] of Object.entries(commands)) {
    const {arity: _arity, flags, subcommands, ...keys} = spec
    const entry: Record<string, unknown> = {flags: flags.filter((flag) => keepFlags.has(flag)), ...keys}
    if (subcommands) {
      entry.subcommands = Object.fromEntries(
        Object.entries(subcommands).map(([sub, subSpec]) => {
          const {arity: _a, flags: _f, ...subKeys} = subSpec
          return [sub, subKeys]
        }),
      )
    }
    slim[name] = entry
  }
  return slim
}

/**
 * The flags ioredis actually asks about, read from its source (`hasFlag)(name, "readonly"`),
 * so an ioredis upgrade that queries a new flag keeps it instead of silently losing it.
 */
export function queriedFlags(root: string): Set<string> {
  const require = createRequire(join(root, 'package.json'))
  const builtDir = dirname(require.resolve('ioredis/built/Redis.js'))
  const flags = new Set<string>()
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, {withFileTypes: true})) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.js')) {
        for (const match of readFileSync(path, 'utf8').matchAll(/hasFlag\)\([^,]+,\s*"([a-z_-]+)"/g))
          flags.add(match[1]!)
      }
    }
  }
  walk(builtDir)
  if (flags.size === 0)
    throw new Error('found no hasFlag() calls in ioredis: has its layout changed? Review slimCommands.')
  return flags
}

/** The cluster client's file in the package, loaded by a sharded cache only (src/cache/cluster.ts). */
export const CLUSTER_FILE = 'ioredis-cluster.js'

export async function bundleNode(root: string, version: string, cacheDir?: string): Promise<NodeBundle> {
  const entry = join(root, 'src/cache/index.ts')
  const common = {
    entryPoints: [entry],
    bundle: true,
    platform: 'node' as const,
    target: 'node22',
    write: false,
    absWorkingDir: root,
    legalComments: 'none' as const,
    plugins: [ioredisStubs(root), luaInline(root)],
    logLevel: 'silent' as const,
  }
  const [cjs, esm, cluster] = await Promise.all([
    build({...common, format: 'cjs', minify: true, metafile: true}),
    // Only to learn the export names for the ESM entry (esbuild reports them for ESM).
    build({...common, format: 'esm', metafile: true}),
    // All of ioredis with its Cluster, for sharded caches: its own copy of the Redis class
    // too, so the helper's file stays as small as before for everyone else.
    build({
      ...common,
      entryPoints: [join(root, 'src/cache/ioredis-cluster.ts')],
      plugins: [ioredisStubs(root, true)],
      format: 'cjs',
      minify: true,
      metafile: true,
    }),
  ])
  const code = cjs.outputFiles![0]!.contents
  const exportNames = Object.values(esm.metafile.outputs)[0]!.exports.slice().sort()

  const files = new Map<string, Uint8Array>()
  const text = (s: string) => new TextEncoder().encode(s)
  files.set('index.js', code)
  files.set(CLUSTER_FILE, cluster.outputFiles![0]!.contents)
  // An ESM face over the same CommonJS instance: one client per container either way.
  // Loaded through createRequire, not `import cjs from './index.js'`: importing CommonJS
  // makes Node lex the whole 140 kB bundle for export names first, which doubled the
  // cost of an ES module handler's import compared with require.
  files.set(
    'index.mjs',
    text(
      `import {createRequire} from 'node:module'\n` +
        `const cjs = createRequire(import.meta.url)('./index.js')\n` +
        `export const {${exportNames.join(', ')}} = cjs\nexport default cjs\n`,
    ),
  )
  files.set('index.d.ts', text(moduleTypes(root, cacheDir)))
  files.set(
    'package.json',
    text(
      `${JSON.stringify(
        {
          name: NODE_PACKAGE,
          version,
          description: 'cct cache-aside helper for Lambda: ElastiCache (Redis/Valkey) in front of DynamoDB',
          license: 'MIT',
          main: './index.js',
          types: './index.d.ts',
          exports: {
            '.': {types: './index.d.ts', import: './index.mjs', require: './index.js'},
            './package.json': './package.json',
          },
          engines: {node: '>=22'},
        },
        null,
        2,
      )}\n`,
    ),
  )
  const inputs = new Set([...Object.keys(cjs.metafile.inputs), ...Object.keys(cluster.metafile.inputs)])
  files.set('THIRD_PARTY_LICENSES.txt', text(thirdPartyLicenses(root, [...inputs])))
  return {files, helperBytes: code.byteLength, exports: exportNames}
}

/**
 * The package's index.d.ts, generated from src/cache: tsc's declaration emit, with what
 * index.ts exports (and the types those refer to) put into one file by dts-bundle-generator,
 * so the package carries no internal module and no import of ioredis, which it bundles.
 * Running the compiler is most of a layer build's time (~10 s of CPU), so the result is kept
 * in cacheDir under a digest of everything it is made from: the same inputs, the same text.
 */
function moduleTypes(root: string, cacheDir?: string): string {
  const cached = cacheDir && join(cacheDir, `index-${typesDigest(root)}.d.ts`)
  if (cached && existsSync(cached)) return readFileSync(cached, 'utf8')
  const [types] = generateDtsBundle(
    [{filePath: join(root, 'src/cache/index.ts'), output: {noBanner: true, exportReferencedTypes: false}}],
    {preferredConfigPath: join(root, 'tsconfig.json')},
  )
  const text = `// Types of \`cct-cache\`, the Node helper in the cct layer, generated from its sources by the layer build.\n${types!}`
  if (cached) {
    mkdirSync(cacheDir, {recursive: true})
    // Write-then-rename: test files build layers at the same time.
    writeFileSync(`${cached}.${process.pid}`, text)
    renameSync(`${cached}.${process.pid}`, cached)
  }
  return text
}

/** The sources the types come from, the compiler settings, and the versions of the tools and of ioredis. */
function typesDigest(root: string): string {
  const hash = createHash('sha256')
  const req = createRequire(join(root, 'package.json'))
  for (const pkg of ['typescript', 'dts-bundle-generator', 'ioredis'])
    hash.update(
      `${pkg}@${(JSON.parse(readFileSync(req.resolve(`${pkg}/package.json`), 'utf8')) as {version: string}).version}\n`,
    )
  const dir = join(root, 'src/cache')
  const configs = [join(root, 'tsconfig.json'), join(root, '../../tsconfig.json')]
  for (const file of [
    ...configs,
    ...readdirSync(dir)
      .sort()
      .map((name) => join(dir, name)),
  ])
    if (file.endsWith('.ts') || file.endsWith('.json'))
      hash.update(`${relative(root, file)}\n`).update(readFileSync(file))
  return hash.digest('hex').slice(0, 16)
}

/** MIT and friends ask for their notices to travel with the code: collect them. */
function thirdPartyLicenses(root: string, inputs: string[]): string {
  const packages = new Map<string, string>()
  for (const input of inputs) {
    const match = /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(input)
    if (!match) continue
    const name = match[1]!.replace(/\\/g, '/')
    const dir = join(root, input.slice(0, match.index + match[0].length))
    packages.set(name, dir)
  }
  const sections: string[] = []
  for (const name of [...packages.keys()].sort()) {
    const dir = packages.get(name)!
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {version?: string; license?: string}
    const licenseFile = readdirSync(dir).find((file) => /^licen[cs]e/i.test(file))
    const body = licenseFile
      ? readFileSync(join(dir, licenseFile), 'utf8').trim()
      : `License: ${pkg.license ?? 'unknown'}`
    // The folder from node_modules/ on: how far up the workspace hoisted it is no part of the notice.
    sections.push(
      `${name}@${pkg.version ?? '?'} (${relative(root, dir)
        .replace(/\\/g, '/')
        .replace(/^(\.\.\/)+/, '')})\n\n${body}`,
    )
  }
  return `${sections.join('\n\n' + '-'.repeat(72) + '\n\n')}\n`
}
