import {AwsClients} from '../aws/clients.js'
import type {CallLog} from '../aws/call-log.js'
import type {AwsSettings} from '../aws/settings.js'
import type {RunListener} from '../engine/events.js'
import type {StepId} from '../engine/step.js'
import {runSteps, type RunMode, type StepResult} from '../engine/runner.js'
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

/** Converges (or plans, or destroys) the chosen steps of one stack. */
export async function converge(request: ConvergeRequest): Promise<ConvergeReport> {
  await validateOptions(request.options)
  const aws = new AwsClients(request.settings, request.log, request.signal)
  const region = await aws.region()
  const run = await runSteps({
    steps: allSteps(),
    targets: request.targets,
    mode: request.mode,
    aws,
    region,
    options: request.options,
    onEvent: request.onEvent,
    signal: request.signal,
  })
  return {
    stack: request.options.stack,
    region,
    mode: request.mode,
    steps: run.steps,
    notes: run.notes,
    calls: {total: aws.log.calls.length, mutating: aws.log.mutating.length},
  }
}
