/**
 * Issue #12 item 14's kill points: SIGKILL cct right after its Nth mutating call (the change
 * made, the answer never seen), then the same command again, then rollback: the account
 * must equal its snapshot from before setup. Shared by the sampled test
 * (test/e2e/kill-points.test.ts) and the full sweep (scripts/kill-points.ts).
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {isDeepStrictEqual} from 'node:util'

import {accountSnapshot, unrecordedChanges} from './account.js'
import {cli, type Located} from './cct.js'
import {FaultProxy, type ProxiedCall} from './fault-proxy.js'

export type KillCommand = 'setup' | 'rollback'

/** `--nat`: a seeded function needs the internet, and `setup --yes` will not cut it off. */
export const SETUP_ARGS = ['setup', '--yes', '--nat']
export const ROLLBACK_ARGS = ['rollback', '--yes']

/**
 * Where to kill: right after mutating call N is answered (the sweep), or by what the call
 * is (a sample that must hit the same kind of call whatever order concurrent steps take):
 * `after` the first call it matches is made, or `before` it reaches the sandbox (the
 * crash between the call before and this one).
 */
export type KillAt = number | {after: (call: ProxiedCall) => boolean} | {before: (call: ProxiedCall) => boolean}

/**
 * Right after the `nth` call of `operation` (1-based) is made. Steps run side by side, so the
 * Nth mutating call of one run may be another call in the next; by operation and
 * occurrence, every call a command makes is a kill point in every run.
 */
export function afterNth(key: string, nth: number): KillAt {
  let seen = 0
  return {after: (call) => callKey(call) === key && ++seen === nth}
}

/** A call as a sweep tells it from the others: its operation (Lambda's names the function), and the role an IAM call is on. */
export function callKey(call: ProxiedCall): string {
  const role = /RoleName=([\w+=,.@-]+)/.exec(call.request)?.[1]
  return role ? `${call.operation} ${role}` : call.operation
}

export interface KillPointResult {
  command: KillCommand
  /** The mutating call killed after (0 when killed before a call). */
  n: number
  /** The operation after whose change cct was killed. */
  operation?: string
  killed: boolean
  converged: boolean
  /** With a sweep by call: the call killed after, as the counted run made it ("CreateRoute #2"). */
  call?: string
  /** What went wrong: an exit code or the parts of the account that differ. */
  problem?: string
}

export class KillPoints {
  constructor(
    private readonly sandbox: Located & {env: Record<string, string>},
    private readonly proxy: FaultProxy,
  ) {}

  /** `cct <args>` through the proxy, killed at `killAt`. */
  async run(args: string[], config: string, killAt?: KillAt) {
    const p = this.proxy
    const after =
      typeof killAt === 'number'
        ? (c: ProxiedCall) => c.n === killAt
        : killAt && 'after' in killAt
          ? killAt.after
          : undefined
    const before = killAt && typeof killAt === 'object' && 'before' in killAt ? killAt.before : undefined
    p.reset(
      (call) => (after && call.mutating && after(call) ? 'kill' : 'relay'),
      (call) => (before?.(call) ? 'kill' : 'pass'),
    )
    const result = await cli(
      args,
      {...this.sandbox.env, AWS_ENDPOINT_URL: p.url, CCT_CONFIG: config},
      {onSpawn: (child) => (p.child = child)},
    )
    const last = p.killedAt
    return {
      ...result,
      operations: p.calls.filter((c) => c.mutating).map(callKey),
      killedByProxy: p.killed,
      operation: last && (last.mutating ? last.operation : `before ${last.operation}`),
      n: last?.n ?? 0,
      mutatingCalls: p.calls.filter((c) => c.mutating).length,
    }
  }

  /** How many mutating calls setup and rollback make on a fresh (seeded) account; leaves it as it was. */
  async count(): Promise<{setup: number; rollback: number; operations: Record<KillCommand, string[]>}> {
    const config = freshConfig()
    const setup = await this.run(SETUP_ARGS, config)
    if (setup.code !== 0) throw new Error(`setup failed: ${setup.stderr}`)
    const rollback = await this.run(ROLLBACK_ARGS, config)
    if (rollback.code !== 0) throw new Error(`rollback failed: ${rollback.stderr}`)
    return {
      setup: setup.mutatingCalls,
      rollback: rollback.mutatingCalls,
      operations: {setup: setup.operations, rollback: rollback.operations},
    }
  }

  /** One kill point, on a fresh (seeded) account. */
  async point(command: KillCommand, at: KillAt): Promise<KillPointResult> {
    let n = typeof at === 'number' ? at : 0
    const config = freshConfig()
    const before = await accountSnapshot(this.sandbox)
    const fail = (problem: string, killed = true, operation?: string): KillPointResult => ({
      command,
      n,
      operation,
      killed,
      converged: false,
      problem,
    })
    if (command === 'rollback') {
      const setup = await this.run(SETUP_ARGS, config)
      if (setup.code !== 0) return fail(`setup exit ${setup.code}: ${lastLine(setup.stderr)}`, false)
    }
    const args = command === 'setup' ? SETUP_ARGS : ROLLBACK_ARGS
    const killed = await this.run(args, config, at)
    if (!killed.killedByProxy) return fail(`never reached the kill point (exit ${killed.code})`, false)
    n = killed.n
    // Recorded before it is made: at the kill, every change to what cct does not own has its record.
    const unrecorded = unrecordedChanges(before, await accountSnapshot(this.sandbox))
    if (unrecorded.length) return fail(`at the kill: ${unrecorded.join('; ')}`, true, killed.operation)
    const again = await this.run(args, config)
    if (again.code !== 0)
      return fail(`${command} again exit ${again.code}: ${lastLine(again.stderr)}`, true, killed.operation)
    if (command === 'setup') {
      // Converged, not just exited: nothing is missing or drifted.
      const status = await this.run(['status'], config)
      if (status.code !== 0)
        return fail(
          `status after setup again exit ${status.code}: ${lastLine(status.stdout + status.stderr)}`,
          true,
          killed.operation,
        )
      const rollback = await this.run(ROLLBACK_ARGS, config)
      if (rollback.code !== 0)
        return fail(`rollback exit ${rollback.code}: ${lastLine(rollback.stderr)}`, true, killed.operation)
    }
    const after = await accountSnapshot(this.sandbox)
    if (!isDeepStrictEqual(after, before))
      return fail(`differs: ${differences(before, after).join('; ')}`, true, killed.operation)
    return {command, n, operation: killed.operation, killed: true, converged: true}
  }
}

function freshConfig(): string {
  return join(mkdtempSync(join(tmpdir(), 'cct-kill-')), 'cct.json')
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? ''
}

/** The snapshot's parts (and functions, roles) that differ, with both sides, short. */
export function differences(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const out: string[] = []
  for (const key of Object.keys({...before, ...after})) {
    const a = before[key]
    const b = after[key]
    if (isDeepStrictEqual(a, b)) continue
    if (a && b && typeof a === 'object' && !Array.isArray(a)) {
      for (const inner of Object.keys({...a, ...(b as object)})) {
        const x = (a as Record<string, unknown>)[inner]
        const y = (b as Record<string, unknown>)[inner]
        if (!isDeepStrictEqual(x, y))
          out.push(`${key}.${inner}: ${JSON.stringify(x)} → ${JSON.stringify(y)}`.slice(0, 400))
      }
    } else out.push(`${key}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`.slice(0, 400))
  }
  return out
}

export {FaultProxy}
