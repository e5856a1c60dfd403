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

/** What one function loses, as a choice of the question: `news-api  loses the internet (news.example.com): NEWS_FEED_URL`. */
export function lossChoice(loss: FunctionLoss): string {
  const aws = loss.loses.filter((l) => l.service).map((l) => l.service!)
  const hosts = loss.loses.filter((l) => !l.service).map((l) => l.reaches)
  const cut = [hosts.length ? `the internet (${hosts.join(', ')})` : '', aws.length ? `AWS ${aws.join(', ')}` : '']
    .filter(Boolean)
    .join(' and ')
  return `${loss.functionName}  loses ${cut}: ${loss.loses.map((l) => l.variable).join(', ')}`
}

/** The question: which of these to move anyway (none by default). */
export const LOSS_QUESTION = 'Without a NAT gateway (--nat) these lose what they reach. Move which anyway?'

/**
 * One question for every function that would lose something, each unchecked: the answer
 * takes one line on the setup screen however many functions are asked about. Returns
 * those the user keeps out of the VPC.
 */
export async function askLosses(losses: FunctionLoss[]): Promise<string[]> {
  const {checkbox} = await import('@inquirer/prompts')
  const {ask} = await import('./prompts.js')
  const moved = await ask(() =>
    checkbox({
      message: LOSS_QUESTION,
      choices: losses.map((loss) => ({
        name: lossChoice(loss),
        value: loss.functionName,
        short: loss.functionName,
        checked: false,
      })),
    }),
  )
  return losses.map((l) => l.functionName).filter((name) => !moved.includes(name))
}
