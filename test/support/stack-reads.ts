/**
 * What a user checks of a stack whose functions read through the cache, in the sandbox: a
 * function's configuration as cct may touch it, the articles it serves (invoked for real),
 * the DynamoDB reads the server answered, and the keys the cache's primaries hold.
 *
 *   const reads = stackReads(sandbox)
 *   await reads.readAll('articles-api', ids)
 */
import assert from 'node:assert/strict'

import {DescribeReplicationGroupsCommand, ElastiCacheClient} from '@aws-sdk/client-elasticache'
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  ListTagsCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda'
import {strToU8} from 'fflate'
import {Redis} from 'ioredis'

import type {SandboxGetter} from './sandbox.js'

const READ_OPS = ['GetItem', 'BatchGetItem', 'Query', 'Scan']

/** API Gateway's event for GET /articles/{id}, as the seeded articles-api takes it. */
export const articleGet = (id: string) => ({
  version: '2.0',
  routeKey: 'GET /articles/{id}',
  rawPath: `/articles/${id}`,
  rawQueryString: '',
  headers: {},
  pathParameters: {id},
  requestContext: {http: {method: 'GET', path: `/articles/${id}`}, requestId: `GET-${id}`},
  isBase64Encoded: false,
})

export function stackReads(sandbox: SandboxGetter) {
  const config = () => ({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})

  const group = async (id = 'cct-cache') =>
    (await new ElastiCacheClient(config()).send(new DescribeReplicationGroupsCommand({ReplicationGroupId: id})))
      .ReplicationGroups![0]!

  /** Everything a user can read back about a function's configuration that cct touches. */
  async function snapshot(name: string) {
    const lambda = new LambdaClient(config())
    const c = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: name}))
    const {Tags} = await lambda.send(new ListTagsCommand({Resource: c.FunctionArn!}))
    return {
      env: c.Environment?.Variables ?? {},
      layers: (c.Layers ?? []).map((l) => l.Arn),
      subnets: c.VpcConfig?.SubnetIds ?? [],
      tags: Tags,
    }
  }

  /** DynamoDB read requests the server has answered, all tables. */
  async function readsAtServer(): Promise<number> {
    const res = await fetch(`${sandbox().endpoint}/cct-fidelity/dynamodb-requests`)
    const {requests} = (await res.json()) as {requests: Record<string, Record<string, number>>}
    return Object.values(requests).reduce((n, ops) => n + READ_OPS.reduce((m, op) => m + (ops[op] ?? 0), 0), 0)
  }

  /** The body `fn` answers for GET /articles/{id} (a 200, or the test fails). */
  async function read(fn: string, id: string): Promise<string> {
    const out = await new LambdaClient(config()).send(
      new InvokeCommand({FunctionName: fn, Payload: strToU8(JSON.stringify(articleGet(id))), LogType: 'Tail'}),
    )
    const text = Buffer.from(out.Payload ?? []).toString()
    if (process.env.SHOW_LOGS) console.log(Buffer.from(out.LogResult ?? '', 'base64').toString())
    assert.equal(out.FunctionError, undefined, text)
    const answer = JSON.parse(text) as {statusCode: number; body: string}
    assert.equal(answer.statusCode, 200, text)
    return answer.body
  }

  /** One after another: one container, whose cache connection is reused. */
  async function readAll(fn: string, ids: string[]): Promise<string[]> {
    const out = []
    for (const id of ids) out.push(await read(fn, id))
    return out
  }

  /** Keys held by the primaries of the stack's cache (TLS, as cct creates it), all shards together. */
  /** The names of every key the cache's primaries hold, sorted. */
  async function cachedKeys(): Promise<string[]> {
    const res = await fetch(`${sandbox().endpoint}/cct-fidelity/caches`)
    const nodes = (await res.json()) as {kind: string; role: string; real: string}[]
    const primaries = nodes.filter((n) => n.kind === 'node' && n.role === 'primary')
    const names = await Promise.all(primaries.map((n) => keysOn(Number(n.real.split(':')[1]))))
    return names.flat().sort()
  }

  /**
   * The sandbox runs several TLS redis-servers, containers and moto on two cores: a cold TLS
   * connect to a node can exceed the helper's 400 ms default budget, which would open the
   * breaker. The function's own setting (kept by cct, restored as it is by rollback).
   */
  async function patientHelpers(names: string[]): Promise<void> {
    const lambda = new LambdaClient(config())
    for (const name of names) {
      const fn = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: name}))
      await lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: name,
          Environment: {Variables: {...fn.Environment?.Variables, CACHE_CONNECT_TIMEOUT_MS: '3000'}},
        }),
      )
      await waitUntilFunctionUpdatedV2({client: lambda, maxWaitTime: 30}, {FunctionName: name})
    }
  }

  return {config, group, snapshot, readsAtServer, read, readAll, cachedKeys, patientHelpers}
}

async function keysOn(port: number): Promise<string[]> {
  const node = new Redis({host: '127.0.0.1', port, tls: {rejectUnauthorized: false}, lazyConnect: true})
  try {
    await node.connect()
    return await node.keys('*')
  } finally {
    node.disconnect()
  }
}

/** The names in `before` that `now` lacks. */
export const missingKeys = (before: string[], now: string[]): string[] => before.filter((k) => !now.includes(k))
