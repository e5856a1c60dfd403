/**
 * cct's commands run in one long-lived process (test/support/cli-host.mjs) instead of one
 * process each: for a test that runs many short commands (bad input's hundred refusals),
 * where starting Node, oclif and the bundle costs more than the command. Each run gets what
 * cli() gives a process (environment, empty working directory with its files, call log) and
 * answers as cli() does. Commands run one at a time per host.
 *
 * What it does not prove: the real process's exit code and that nothing else reaches its
 * stdout/stderr. Tests using it keep some cases on cli() for that; here, output that
 * bypasses the captured streams fails the run it came during.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {once} from 'node:events'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import type {Duplex} from 'node:stream'

import {callsIn, prepareRun, type CliOptions, type CliResult} from './cct.js'

const HOST = join(import.meta.dirname, 'cli-host.mjs')

interface Answer {
  id: number
  code: number | null
  stdout: string
  stderr: string
}

export class CliHost {
  private child?: ChildProcess
  private channel?: Duplex
  private readonly waiting = new Map<number, (a: Answer) => void>()
  private nextId = 1
  private queue: Promise<unknown> = Promise.resolve()
  /** Whatever reached the host's own stdout/stderr since the current run began. */
  private stray = ''

  private start(): Duplex {
    if (this.channel) return this.channel
    const child = spawn(process.execPath, [HOST], {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      env: {...process.env, NO_COLOR: '1', FORCE_COLOR: '0'},
    })
    child.stdin!.end()
    child.stdout!.on('data', (d) => (this.stray += d))
    child.stderr!.on('data', (d) => (this.stray += d))
    child.on('exit', (code, signal) => {
      for (const resolve of this.waiting.values())
        resolve({id: 0, code: null, stdout: '', stderr: `the cct host exited (${code ?? signal}): ${this.stray}`})
      this.waiting.clear()
      this.channel = undefined
    })
    const channel = child.stdio[3] as Duplex
    createInterface({input: channel}).on('line', (line) => {
      const answer = JSON.parse(line) as Answer
      this.waiting.get(answer.id)?.(answer)
      this.waiting.delete(answer.id)
    })
    this.child = child
    this.channel = channel
    return channel
  }

  /** `cct <args>` in the host, as cli() would run it in a process of its own. */
  run(args: string[], env: Record<string, string>, options: Pick<CliOptions, 'files' | 'unset'> = {}) {
    const result = this.queue.then(() => this.runNow(args, env, options))
    this.queue = result.catch(() => undefined)
    return result
  }

  private async runNow(
    args: string[],
    env: Record<string, string>,
    options: Pick<CliOptions, 'files' | 'unset'>,
  ): Promise<CliResult> {
    const {childEnv, cwd, logFile} = prepareRun(env, options)
    const channel = this.start()
    const id = this.nextId++
    this.stray = ''
    const answer = new Promise<Answer>((resolve) => this.waiting.set(id, resolve))
    channel.write(JSON.stringify({id, args, env: childEnv, cwd}) + '\n')
    const {code, stdout, stderr} = await answer
    if (this.stray) throw new Error(`cct ${args.join(' ')} wrote past its captured stdout/stderr: ${this.stray}`)
    return {code, stdout, stderr, ...callsIn(logFile)}
  }

  async stop(): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null) return
    child.kill()
    await once(child, 'exit')
  }
}
