import {usageError, type CctError} from '../errors.js'
import {describeLosses, type Loss} from '../net/reach.js'
import type {ConvergeReport} from '../services/converge.js'

/** A function the plan moves into the VPC and what it loses there. */
export interface FunctionLoss {
  functionName: string
  loses: Loss[]
}

/** The functions a plan moves into a VPC without a way to what their environment needs. */
export function lossesOf(report: ConvergeReport): FunctionLoss[] {
  const out: FunctionLoss[] = []
  for (const step of report.steps) {
    for (const change of step.changes) {
      const op = change.op as {kind: string; functionName?: string; loses?: Loss[]}
      if (op.kind === 'move-into-vpc' && op.functionName && op.loses?.length)
        out.push({functionName: op.functionName, loses: op.loses})
    }
  }
  return out
}

/** Without a question to ask (--yes, a step command): one line, nothing changed. */
export function lossRefusal(losses: FunctionLoss[]): CctError {
  const what = losses.map((l) => `${l.functionName} would lose ${describeLosses(l.loses)}`).join('; ')
  return usageError(
    `In the VPC without a NAT gateway, ${what}`,
    'Pass --nat (a NAT gateway, about $32/month), leave the function out of --functions, or add a VPC endpoint for the AWS service',
  )
}

/** The question before moving one function (default no). */
export function lossQuestion(loss: FunctionLoss): string {
  const aws = loss.loses.filter((l) => l.service).map((l) => l.service!)
  const hosts = loss.loses.filter((l) => !l.service).map((l) => l.reaches)
  const cut = [hosts.length ? `the internet (${hosts.join(', ')})` : '', aws.length ? `AWS ${aws.join(', ')}` : '']
    .filter(Boolean)
    .join(' and ')
  return `${loss.functionName} uses ${loss.loses.map((l) => l.variable).join(', ')}: in the VPC without a NAT gateway (--nat) it cannot reach ${cut}. Move it anyway?`
}

/** Asks for each function; returns those the user keeps out of the VPC. */
export async function askLosses(losses: FunctionLoss[]): Promise<string[]> {
  const {confirm} = await import('@inquirer/prompts')
  const {ask} = await import('./prompts.js')
  const declined: string[] = []
  for (const loss of losses) {
    if (!(await ask(() => confirm({message: lossQuestion(loss), default: false})))) declined.push(loss.functionName)
  }
  return declined
}
