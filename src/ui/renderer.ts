/** Which listr2 renderer: live on a terminal, one line per event in CI and pipes, none with --json. */
export type RendererChoice = 'default' | 'simple' | 'silent'

export function chooseRenderer(options: {json: boolean; isTTY: boolean | undefined}): RendererChoice {
  if (options.json) return 'silent'
  return options.isTTY ? 'default' : 'simple'
}

/** listr2 options for a choice; loaded only when a run starts (listr2 is not light). */
export async function rendererOptions(choice: RendererChoice) {
  const {PRESET_TIMER} = await import('listr2')
  switch (choice) {
    case 'silent':
      return {renderer: 'silent' as const}
    case 'simple':
      return {renderer: 'simple' as const, rendererOptions: {timer: PRESET_TIMER}}
    default:
      return {renderer: 'default' as const, rendererOptions: {collapseSubtasks: false, outputBar: 1, timer: PRESET_TIMER}}
  }
}
