/**
 * Build the cct cache layer: <outDir>/cct-cache-layer.zip (+ .json with its SHA-256);
 * outDir defaults to this package's dist/layer (the CLI's build passes its own dist/layer).
 *   node --import tsx scripts/build-layer.ts [outDir]
 */
import {join, relative} from 'node:path'

import {PACKAGE_ROOT, buildLayer} from './layer/build.js'

const outDir = process.argv[2] ?? join(PACKAGE_ROOT, 'dist/layer')
const started = performance.now()
const {zipPath, manifest} = await buildLayer(outDir)
const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`
console.log(
  `${relative(process.cwd(), zipPath) || zipPath}: ${kb(manifest.size)}, ${manifest.files} files, ` +
    `node helper ${kb(manifest.node.helperBytes)}, sha256 ${manifest.sha256} ` +
    `(${Math.round(performance.now() - started)} ms)`,
)
