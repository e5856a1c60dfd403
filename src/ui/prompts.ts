import {CctError, ExitCode} from '../errors.js'

/** Ctrl-C at a question, or "no": stop with nothing changed. */
export function cancelled(): CctError {
  return new CctError('Cancelled; nothing was changed', {exitCode: ExitCode.Interrupted})
}

/** Runs a prompt; Ctrl-C (inquirer's ExitPromptError) becomes a clean cancel. */
export async function ask<T>(prompt: () => Promise<T>): Promise<T> {
  try {
    return await prompt()
  } catch (error) {
    if ((error as {name?: string}).name === 'ExitPromptError' || (error as {name?: string}).name === 'AbortPromptError')
      throw cancelled()
    throw error
  }
}

export async function confirmOrCancel(message: string): Promise<void> {
  const {confirm} = await import('@inquirer/prompts')
  const yes = await ask(() => confirm({message, default: false}))
  if (!yes) throw cancelled()
}
