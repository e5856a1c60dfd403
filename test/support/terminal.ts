import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'

/**
 * A real terminal: tmux runs the command in a detached session; tests type with keys()
 * and read the screen with screen(), as a person would.
 */
export class Terminal {
  private constructor(
    readonly session: string,
    private readonly exitFile: string,
  ) {}

  static start(
    command: string,
    env: Record<string, string>,
    exitFile: string,
    size: {columns: number; rows: number} = {columns: 160, rows: 50},
  ): Terminal {
    const session = `cct-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
    const exports = Object.entries(env)
      .map(([k, v]) => `${k}='${v.replaceAll("'", `'\\''`)}'`)
      .join(' ')
    execFileSync('tmux', [
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      String(size.columns),
      '-y',
      String(size.rows),
      `env ${exports} ${command}; echo $? > ${exitFile}; sleep 30`,
    ])
    return new Terminal(session, exitFile)
  }

  screen(): string {
    return execFileSync('tmux', ['capture-pane', '-p', '-J', '-S', '-200', '-t', this.session], {encoding: 'utf8'})
  }

  /** Only what is on the screen now (no scrollback), each row as the terminal shows it (wrapped lines stay wrapped). */
  visible(): string[] {
    return execFileSync('tmux', ['capture-pane', '-p', '-t', this.session], {encoding: 'utf8'})
      .replace(/\n$/, '')
      .split('\n')
  }

  keys(...keys: string[]): void {
    execFileSync('tmux', ['send-keys', '-t', this.session, ...keys])
  }

  /** Waits (bounded) until the screen matches. */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const text = this.screen()
      if (pattern.test(text)) return text
      if (Date.now() > deadline) throw new Error(`screen never showed ${pattern}:\n${text}`)
      await new Promise((r) => setTimeout(r, 150))
    }
  }

  async exitCode(timeoutMs = 120_000): Promise<number> {
    const deadline = Date.now() + timeoutMs
    while (!existsSync(this.exitFile) || readFileSync(this.exitFile, 'utf8').trim() === '') {
      if (Date.now() > deadline) throw new Error(`the command did not end:\n${this.screen()}`)
      await new Promise((r) => setTimeout(r, 150))
    }
    return Number(readFileSync(this.exitFile, 'utf8').trim())
  }

  close(): void {
    try {
      execFileSync('tmux', ['kill-session', '-t', this.session])
    } catch {
      // already gone
    }
  }
}
