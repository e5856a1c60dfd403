import {AwsClients} from '../aws/clients.js'
import type {CallLog} from '../aws/call-log.js'
import type {AwsSettings} from '../aws/settings.js'
import type {RunListener} from '../engine/events.js'
import type {StepId} from '../engine/step.js'
import {planSteps, type RunMode, type RunResult, type StepResult} from '../engine/runner.js'
import {validateOptions, type StackOptions} from '../options.js'
import {allSteps} from '../steps/index.js'

export interface ConvergeRequest {
  targets: StepId[]
  mode: RunMode
  settings: AwsSettings
  options: StackOptions
  /** Told each step's progress as it happens (the command's progress display); none when absent. */
  onEvent?: RunListener
  /** Injected by tests (and audits) to count calls. */
  log?: CallLog
  signal?: AbortSignal
}

export interface ConvergeReport {
  stack: string
  region: string
  mode: RunMode
  steps: StepResult[]
  notes: string[]
  /** AWS API calls this run made; `mutating` is zero for a dry run or a converged stack. */
  calls: {total: number; mutating: number}
}

/**
 * An apply or destroy run inspected and planned, nothing changed: `report` is its plan (as
 * a dry run shows it), `perform` makes exactly those changes without reading the stack again.
 */
export interface PreparedRun {
  report: ConvergeReport
  perform(onEvent?: RunListener): Promise<ConvergeReport>
}

/** Converges (or plans, or destroys) the chosen steps of one stack. */
export async function converge(request: ConvergeRequest): Promise<ConvergeReport> {
  const prepared = await prepare(request)
  return request.mode === 'apply' || request.mode === 'destroy' ? prepared.perform(request.onEvent) : prepared.report
}

/**
 * Inspects and plans the chosen steps (mode apply or destroy) and stops before the first
 * change, for the caller to look at the plan (refuse, ask) before it is performed.
 */
export async function prepare(request: ConvergeRequest): Promise<PreparedRun> {
  await validateOptions(request.options)
  const aws = new AwsClients(request.settings, request.log, request.signal)
  const region = await aws.region()
  const planned = await planSteps({
    steps: allSteps(),
    targets: request.targets,
    mode: request.mode,
    aws,
    region,
    options: request.options,
    onEvent: request.onEvent,
    signal: request.signal,
  })
  const report = (run: RunResult): ConvergeReport => ({
    stack: request.options.stack,
    region,
    mode: run.mode,
    steps: run.steps,
    notes: run.notes,
    calls: {total: aws.log.calls.length, mutating: aws.log.mutating.length},
  })
  return {report: report(planned.result), perform: async (onEvent) => report(await planned.perform(onEvent))}
}
