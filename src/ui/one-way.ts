import {CctError, ExitCode} from '../errors.js'
import type {ConvergeReport} from '../services/converge.js'

/** What the plan would do that cannot be undone, in words (each once). */
export function oneWayOf(report: ConvergeReport): string[] {
  return [...new Set(report.steps.flatMap((s) => s.changes.map((c) => c.oneWay).filter((w): w is string => !!w)))]
}

/**
 * A plan with a one-way change goes ahead only when asked: on a terminal the short plan (with
 * its cost) and a question; elsewhere one line saying to pass --yes, before any change.
 */
export async function confirmOneWay(report: ConvergeReport, interactive: boolean): Promise<void> {
  const oneWay = oneWayOf(report)
  if (oneWay.length === 0) return
  if (!interactive) {
    throw new CctError(`This cannot be undone: ${oneWay.join('; ')}`, {
      exitCode: ExitCode.Usage,
      hint: 'See the plan and its cost with --dry-run, then run it again with --yes to go ahead',
    })
  }
  const [{formatShortPlan}, {confirmOrCancel}] = await Promise.all([import('./report.js'), import('./prompts.js')])
  process.stdout.write(`${formatShortPlan(report, {listedBy: 'cct plan'})}\n`)
  await confirmOrCancel('This cannot be undone. Go ahead?')
}
