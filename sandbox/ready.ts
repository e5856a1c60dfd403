import {readFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'

import type {ServerProcess} from './zygote.js'

/**
 * Polls `ready` until it answers (anything but undefined or false), and returns that
 * answer; fails fast, with the process's log, if the process dies first. `exitOk`: an exit
 * with code 0 is not a failure (a zygote that lost the race to bind its socket exits 0,
 * and the winner serves instead).
 */
export async function waitReady<T>(
  name: string,
  child: ServerProcess,
  log: string,
  ready: () => Promise<T | undefined | false>,
  hint: (code: number | string | null) => string | undefined,
  {timeoutMs = 30_000, exitOk = false}: {timeoutMs?: number; exitOk?: boolean} = {},
): Promise<T> {
  let failure: number | string | null | undefined
  child.once('error', (e: NodeJS.ErrnoException) => (failure = e.code ?? e.message))
  child.once('exit', (code, signal) => (failure ??= exitOk && code === 0 ? undefined : (code ?? signal)))
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (failure !== undefined) {
      const known = hint(failure)
      if (known) throw new Error(`cct sandbox: ${known}`)
      throw new Error(`cct sandbox: ${name} exited (${failure}) before it was ready. Its log (${log}):\n${tail(log)}`)
    }
    const answer = await ready().catch(() => undefined)
    if (answer !== undefined && answer !== false) return answer
    await sleep(50)
  }
  throw new Error(`cct sandbox: ${name} did not answer within ${timeoutMs / 1000}s. Its log (${log}):\n${tail(log)}`)
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}
