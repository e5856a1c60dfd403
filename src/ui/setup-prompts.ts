import {styleText} from 'node:util'

import type {AccountView} from '../services/discovery.js'
import {DEFAULT_ENGINE_VERSION, RUNBOOK_FUNCTIONS, SERVERLESS_MAJOR_VERSION, type StackOptions} from '../options.js'
import type {AwsClients} from '../aws/clients.js'
import {NODE_TYPES} from '../pricing/offline.js'
import {
  cacheNodePrices,
  formatGb,
  monthlyCost,
  natMonthlyUsd,
  natPrices,
  serverlessEstimate,
  serverlessPrices,
  type Engine,
  type NodePrices,
  type ServerlessPrices,
} from '../pricing/prices.js'
import {ask} from './prompts.js'
import {SCREEN_WIDTH, wrap} from './report.js'

const NEW_VPC = '__new__'

/**
 * The questions of `cct setup`, each answering one option; answers start from what the
 * flags and cct.json already say, so re-running setup offers the same choices.
 */
export async function askSetup(
  view: AccountView,
  options: StackOptions,
  stdout: (line: string) => void,
  aws: Pick<AwsClients, 'pricing' | 'settings'>,
): Promise<StackOptions> {
  const {select, checkbox, confirm, input} = await import('@inquirer/prompts')
  // Asked now, answered while the person reads the first questions: one query per engine
  // (every node type at once), one per serverless engine and one for NAT, so no question
  // waits on a row's price.
  const prices = {
    redis: cacheNodePrices(aws, view.region, 'redis'),
    valkey: cacheNodePrices(aws, view.region, 'valkey'),
    nat: natPrices(aws, view.region),
  }
  const serverless = {
    redis: serverlessPrices(aws, view.region, 'redis'),
    valkey: serverlessPrices(aws, view.region, 'valkey'),
  }
  for (const pending of [...Object.values(prices), ...Object.values(serverless)]) pending.catch(() => {})
  stdout(`Account ${view.account} (${view.arn}) in ${view.region}\n`)

  const chosen = await ask(() =>
    checkbox({
      message: 'Functions to put behind the cache',
      theme: {...answered('Functions'), style: {...answered('Functions').style, renderSelectedChoices: listChosen}},
      pageSize: 12,
      required: true,
      choices: view.functions.map((f) => ({
        name: `${f.name}${f.runtime ? ` (${f.runtime})` : ''}${f.vpcId ? ` — in ${f.vpcId}` : ''}`,
        short: f.name,
        value: f.name,
        checked: (options.functions ?? RUNBOOK_FUNCTIONS).includes(f.name),
      })),
    }),
  )

  const homes = new Map<string, string[]>()
  for (const f of view.functions)
    if (f.vpcId && chosen.includes(f.name)) homes.set(f.vpcId, [...(homes.get(f.vpcId) ?? []), f.name])
  const vpc = await ask(() =>
    select({
      message: 'Network',
      default: options.vpcId ?? NEW_VPC,
      choices: [
        {
          name: `Create a new VPC (${options.cidr}) with two private subnets and DynamoDB/S3 endpoints`,
          short: `a new VPC (${options.cidr})`,
          value: NEW_VPC,
        },
        ...view.vpcs.map((v) => ({
          name: `Use ${v.id} ${v.cidr}${v.name ? ` "${v.name}"` : ''}${v.isDefault ? ' (default VPC)' : ''}${homes.has(v.id) ? ` — has ${homes.get(v.id)!.join(', ')}` : ''}`,
          short: `${v.id} ${v.cidr}`,
          value: v.id,
        })),
      ],
    }),
  )

  const natPrice = vpc === NEW_VPC ? await prices.nat : undefined
  const nat =
    natPrice !== undefined &&
    (await ask(() =>
      confirm({
        message: `Do the functions call internet services other than DynamoDB and S3? (adds a NAT gateway, about $${natMonthlyUsd(natPrice).toFixed(2)}/month + $${natPrice.perGb.usd}/GB, ${natPrice.hourly.source})`,
        theme: answered('NAT gateway for other internet services'),
        default: options.nat,
      }),
    ))

  const choice = await askEngine(select, options, serverless)
  const engine = choice.engine
  // A serverless cache has no nodes to size and always encrypts in transit: nothing more to ask.
  const size = choice.serverless
    ? {
        serverless: true,
        tls: true,
        shards: 1,
        // It takes a major version only ("8.0" from an earlier answer would be refused).
        engineVersion: options.engineVersion?.split('.')[0],
      }
    : {
        serverless: false,
        ...(await askNodes(select, options, engine, prices[engine], stdout)),
        tls: await ask(() => confirm({message: 'Encrypt traffic to the cache (TLS)?', default: options.tls})),
        // Limits of a serverless cache mean nothing to a replication group (and are refused with one).
        maxDataGb: undefined,
        maxEcpu: undefined,
      }
  stdout(wrap(AUTO_CACHE_CONTRACT, SCREEN_WIDTH).join('\n'))
  const autoCache = await ask(() =>
    confirm({message: 'Cache DynamoDB reads without code changes?', default: options.autoCache ?? true}),
  )
  const {validateAlarmTarget} = await import('../steps/alarms.js')
  const alarms = (
    await ask(() =>
      input({
        message:
          'Alarm on the runbook targets (hit rate < 80%, CPU, evictions, errors)? Email or SNS topic ARN, empty for none:',
        theme: answered('Alarms'),
        transformer: (value, {isFinal}) => (isFinal ? value.trim() || 'none' : value),
        default: options.alarms ?? '',
        validate: (value) => {
          if (value.trim() === '') return true
          try {
            validateAlarmTarget(value.trim())
            return true
          } catch (error) {
            return (error as Error).message
          }
        },
      }),
    )
  ).trim()

  return {
    ...options,
    functions: chosen,
    ...(vpc === NEW_VPC
      ? {vpcId: undefined, subnetIds: undefined}
      : {vpcId: vpc, subnetIds: options.vpcId === vpc ? options.subnetIds : undefined}),
    nat,
    engine,
    ...size,
    autoCache,
    alarms: alarms || undefined,
  }
}

type Select = Awaited<typeof import('@inquirer/prompts')>['select']

/**
 * The engine, and whether it runs serverless: ElastiCache Serverless is offered beside the
 * node-based engines, priced at its storage floor by the same code the plan's cost uses.
 */
async function askEngine(
  select: Select,
  options: StackOptions,
  serverless: Record<Engine, Promise<ServerlessPrices>>,
): Promise<{engine: Engine; serverless: boolean}> {
  const floor = async (engine: Engine) => {
    const prices = await serverless[engine].catch(() => undefined)
    if (!prices) return 'price not looked up'
    const {monthlyUsd} = serverlessEstimate(prices)
    return `about $${monthlyUsd!.toFixed(2)}/month at its ${formatGb(prices.minimumGb)} floor, plus ECPUs`
  }
  const [valkeyFloor, redisFloor] = await Promise.all([floor('valkey'), floor('redis')])
  const answer = await ask(() =>
    select<string>({
      message: 'Cache engine',
      default: options.serverless ? `${options.engine}-serverless` : options.engine,
      choices: [
        ...(['redis', 'valkey'] as const).map((e) => ({
          name: `${e} ${DEFAULT_ENGINE_VERSION[e]}${e === 'valkey' ? ' (about 20% cheaper, same clients)' : ''}`,
          value: e,
        })),
        {
          name: `valkey ${SERVERLESS_MAJOR_VERSION.valkey} serverless (no node sizing, ${valkeyFloor})`,
          short: 'valkey serverless',
          value: 'valkey-serverless',
        },
        {
          name: `redis ${SERVERLESS_MAJOR_VERSION.redis} serverless (no node sizing, ${redisFloor})`,
          short: 'redis serverless',
          value: 'redis-serverless',
        },
      ],
    }),
  )
  const [engine, mode] = answer.split('-') as [Engine, string | undefined]
  return {engine, serverless: mode === 'serverless'}
}

/** Replicas, then the node type priced for that many nodes. */
async function askNodes(
  select: Select,
  options: StackOptions,
  engine: Engine,
  pricesOf: Promise<NodePrices>,
  stdout: (line: string) => void,
): Promise<{replicas: number; nodeType: string}> {
  const replicas = await ask(() =>
    select<number>({
      message: 'Replicas',
      default: options.replicas,
      choices: [
        {name: 'None: one node (cheapest)', value: 0},
        {name: 'One replica in the other AZ, automatic failover (twice the cost)', value: 1},
        {name: 'Two replicas (three times the cost)', value: 2},
      ],
    }),
  )
  const nodes = options.shards * (1 + replicas)
  const nodePrices = await pricesOf
  const costs = NODE_TYPES.map((t) => ({type: t, cost: monthlyCost(nodePrices, t, nodes)}))
  // The source is said once, in the question; a row says its own only when it differs.
  const common = costs.find((c) => c.cost.source)?.cost.source
  const fallback = costs.find((c) => c.cost.fallback)?.cost.fallback
  if (fallback) stdout(`Prices below are offline list prices (Price List API: ${fallback}).`)
  const nodeType = await ask(() =>
    select({
      message: `Node type (monthly, ${nodes} node${nodes === 1 ? '' : 's'}${common ? `, ${common}` : ''})`,
      theme: answered('Node type'),
      default: options.nodeType,
      choices: costs.map(({type, cost}) => ({
        name: `${type.padEnd(18)} ${cost.monthlyUsd === undefined ? cost.note : `about $${cost.monthlyUsd.toFixed(2)}/month${cost.source === common ? '' : ` (${cost.source})`}`}`,
        short: cost.monthlyUsd === undefined ? type : `${type}, about $${cost.monthlyUsd.toFixed(2)}/month`,
        value: type,
      })),
    }),
  )
  return {replicas, nodeType}
}

/**
 * A question's theme that, once answered, shows `short` instead of the whole question, so
 * the answers above the plan stay one line each in 100 columns.
 */
function answered(short: string) {
  return {style: {message: (text: string, status: string) => styleText('bold', status === 'done' ? short : text)}}
}

/** The chosen functions, by name; counted when there are too many for one line. */
function listChosen(chosen: ReadonlyArray<{short: string}>): string {
  const names = chosen.map((c) => c.short).join(', ')
  return names.length <= SCREEN_WIDTH - 14
    ? names
    : `${chosen.length} functions (${chosen[0]!.short}, ${chosen[1]!.short}, …)`
}

/** The consistency contract, shown before the question. */
export const AUTO_CACHE_CONTRACT =
  'Auto-cache: GetItem/BatchGetItem/Query/Scan served from the cache for up to 5 min; ConsistentRead, transactions and PartiQL reads go to DynamoDB; writes through these functions invalidate the table at once; writes from elsewhere show after at most the TTL.'
