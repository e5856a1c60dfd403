import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import type {Plugin} from 'esbuild'

/**
 * The Lua scripts (lua/*.lua) are one source for both helpers, put into each at build
 * time: the Node bundle gets them as string constants in place of src/cache/lua.ts (which
 * reads the files when run from source), the Python helper as triple-quoted strings in
 * place of each `LUA("name.lua")`. A file's final newline is not part of the script, so
 * the text (and its SHA-1, which EVALSHA uses) is the same in both.
 */
export function luaScripts(root: string): Map<string, string> {
  const dir = join(root, 'lua')
  const scripts = new Map<string, string>()
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.lua'))
    .sort()) {
    scripts.set(file, readFileSync(join(dir, file), 'utf8').replace(/\n$/, ''))
  }
  return scripts
}

/** esbuild: src/cache/lua.ts becomes `export const LUA = {miss: "...", ...}`. */
export function luaInline(root: string): Plugin {
  return {
    name: 'cct-lua-inline',
    setup(b) {
      b.onLoad({filter: /[\\/]src[\\/]cache[\\/]lua\.ts$/}, () => {
        const entries = [...luaScripts(root)].map(([file, text]) => [file.replace(/\.lua$/, ''), text])
        return {
          contents: `export const LUA = ${JSON.stringify(Object.fromEntries(entries))}\n`,
          loader: 'js',
          resolveDir: root,
        }
      })
    },
  }
}

/** The Python helper with each `LUA("name.lua")` replaced by the file's text. */
export function embedLua(python: string, root: string): string {
  const scripts = luaScripts(root)
  const out = python.replace(/\bLUA\("([\w.-]+)"\)/g, (_call, file: string) => {
    const text = scripts.get(file)
    if (text === undefined) throw new Error(`cache_helper.py asks for lua/${file}, which does not exist`)
    if (text.includes('"""') || text.includes('\\'))
      throw new Error(`lua/${file} holds """ or a backslash: it cannot go into a Python string as is`)
    return `"""${text}"""`
  })
  if (out === python) throw new Error('cache_helper.py has no LUA("name.lua") to fill in')
  return out
}
