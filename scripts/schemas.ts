/**
 * Writes schemas/<command>.json, the JSON Schema of each command's --json envelope, from the
 * TypeScript types in src/json/commands.ts (so the schema cannot say something the code does
 * not). `--check` writes nothing and fails when a committed schema differs (scripts/test.sh).
 *
 *   npm run schemas          # after changing what a command returns; commit schemas/
 *   npm run schemas:check
 */
import {readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync} from 'node:fs'
import {join} from 'node:path'

import {createGenerator} from 'ts-json-schema-generator'

const root = join(import.meta.dirname, '..')
const dir = join(root, 'schemas')
const check = process.argv.includes('--check')

// Every command oclif knows (the committed manifest) gets a schema: none can be forgotten.
const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, unknown>
}
const commands = Object.keys(manifest.commands).sort()
const typeName = (command: string) => `${command.replace(/(^|[-: ])(\w)/g, (_, __, c: string) => c.toUpperCase())}Json`

const generator = createGenerator({
  path: join(root, 'src/json/commands.ts'),
  tsconfig: join(root, 'tsconfig.json'),
  type: '*',
  // tsc checks the types (npx tsc -p tsconfig.test.json); this only reads them.
  skipTypeCheck: true,
  additionalProperties: false,
  jsDoc: 'extended',
})

const stale: string[] = []
const wanted = new Set<string>()
for (const command of commands) {
  const file = `${command}.json`
  wanted.add(file)
  const {$schema, ...generated} = generator.createSchema(typeName(command))
  const text = `${JSON.stringify({$schema, title: `cct ${command} --json`, ...generated}, null, 2)}\n`
  const path = join(dir, file)
  const committed = existsSync(path) ? readFileSync(path, 'utf8') : undefined
  if (committed === text) continue
  if (check) stale.push(file)
  else {
    mkdirSync(dir, {recursive: true})
    writeFileSync(path, text)
    console.log(`wrote schemas/${file}`)
  }
}
const extra = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json') && !wanted.has(f)) : []
if (check) {
  if (stale.length || extra.length) {
    console.error(
      `✖ schemas/ is stale (${[...stale, ...extra.map((f) => `${f}: no such command`)].join(', ')}). Run \`npm run schemas\` and commit schemas/`,
    )
    process.exit(1)
  }
  console.log(`schemas/ is up to date (${commands.length} commands)`)
} else if (extra.length) {
  console.error(`schemas/ has files for no command: ${extra.join(', ')}; delete them`)
  process.exit(1)
}
