import {readFileSync} from 'node:fs'

/**
 * The Lua scripts' text, one file each in lua/ (the Python helper embeds the same files).
 * Run from source (tests, tools), this module reads them; in the layer it is replaced by
 * their text at build time (scripts/layer/lua.ts), so the bundle reads no file.
 */
const read = (name: string): string =>
  readFileSync(new URL(`../../lua/${name}.lua`, import.meta.url), 'utf8').replace(/\n$/, '')

export const LUA = {
  miss: read('miss'),
  write_if_current: read('write_if_current'),
  invalidate: read('invalidate'),
  delete_if_equals: read('delete_if_equals'),
  renew_lock: read('renew_lock'),
}
