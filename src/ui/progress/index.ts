/**
 * The one place a run's progress is drawn. The engine emits events (src/engine/events.ts);
 * a renderer turns them into a live list on a terminal (listr2), plain lines in a pipe, or
 * JSON lines on stderr with `--progress json`.
 */
import type {RunEvent, RunListener} from '../../engine/events.js'

export interface ProgressRenderer {
  onEvent(event: RunEvent): void
  /** Resolves once the last frame is drawn: print after it, or lines interleave. */
  finished(): Promise<void>
}

/** The `--progress` flag's values. */
export const PROGRESS_CHOICES = ['auto', 'plain', 'json', 'none'] as const
export type ProgressChoice = (typeof PROGRESS_CHOICES)[number]

/** How a run shows progress: live on a terminal, lines in a pipe, JSON lines when asked, nothing with --json unless asked. */
export type ProgressKind = 'live' | 'plain' | 'json' | 'none'

export function chooseProgress(options: {
  choice: ProgressChoice
  json: boolean
  isTTY: boolean | undefined
}): ProgressKind {
  if (options.choice === 'json' || options.choice === 'none') return options.choice
  // --json keeps stdout for its envelope: lines there would break it.
  if (options.json) return 'none'
  if (options.choice === 'plain') return 'plain'
  return options.isTTY ? 'live' : 'plain'
}

export async function progressRenderer(kind: ProgressKind): Promise<ProgressRenderer | undefined> {
  switch (kind) {
    case 'live': {
      const {liveRenderer} = await import('./live.js')
      return liveRenderer()
    }
    case 'plain': {
      const {linesRenderer} = await import('./lines.js')
      return linesRenderer((line) => process.stdout.write(`${line}\n`))
    }
    case 'json': {
      const {jsonLinesRenderer} = await import('./json-lines.js')
      return jsonLinesRenderer((line) => process.stderr.write(`${line}\n`))
    }
    case 'none':
      return undefined
  }
}

/**
 * Runs `work` with progress shown as `kind` says, and returns (or throws) only once the
 * renderer has drawn its last frame, so what the command prints next comes after it.
 */
export async function withProgress<T>(
  kind: ProgressKind,
  work: (onEvent: RunListener | undefined) => Promise<T>,
): Promise<T> {
  const renderer = await progressRenderer(kind)
  try {
    return await work(renderer && ((event) => renderer.onEvent(event)))
  } finally {
    await renderer?.finished()
  }
}
