/**
 * Makes the sandbox account look like the runbook's before cct touches it: five Python
 * API functions (sandbox/seed/functions/<name>/index.py: GET list, GET by id, PUT, no
 * cache) with their own env vars, tags and layer (sandbox/seed/layers/shared-utils), an
 * execution role without VPC permissions, and the `articles` table; with `{data: true}`
 * each function's table with a few hundred rows (seed-data.ts). Everything here is "the
 * user's", so rollback tests can check it survives byte for byte.
 */
import type {AttributeValue, WriteRequest} from '@aws-sdk/client-dynamodb'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {zipSync, strToU8} from 'fflate'

import {makeRow, seedRows, SEED_TABLES, toAttributes, type SeedTable} from './seed-data.js'

export {makeRow, seedRows, SEED_TABLES, toAttributes, type SeedTable}

export interface SeedInfo {
  roleArn: string
  roleName: string
  functionNames: string[]
  /** Version ARN of the user's own layer, attached to every function. */
  layerArn: string
  tableName: string
  /** The tables seeded: `articles` only, or all five with `{data: true}`. */
  tables: string[]
}

export const SEED_ROLE = 'cct-demo-lambda-role'
export const SEED_LAYER = 'shared-utils'
export const SEED_TABLE = 'articles'
export const BASIC_EXECUTION_POLICY = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'
export const SEED_TAGS: Record<string, string> = {project: 'cct-demo', owner: 'web-team'}

/** The five functions of the runbook and the environment each has before cct. */
export const SEED_FUNCTIONS: Record<string, Record<string, string>> = {
  'articles-api': {TABLE_NAME: 'articles', LOG_LEVEL: 'INFO', PAGE_SIZE: '20'},
  'video-list-api': {TABLE_NAME: 'videos', LOG_LEVEL: 'INFO', VIDEO_CDN_URL: 'https://cdn.example.com/videos'},
  'news-api': {TABLE_NAME: 'news', LOG_LEVEL: 'WARNING', NEWS_FEED_URL: 'https://news.example.com/feed.xml'},
  'resources-api': {TABLE_NAME: 'resources', LOG_LEVEL: 'INFO', RESOURCES_BUCKET: 'cct-demo-resources'},
  'contributors-api': {TABLE_NAME: 'contributors', LOG_LEVEL: 'DEBUG', MAX_CONTRIBUTORS: '50'},
}

const LAMBDA_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}],
})

/** Same input, same bytes: a fixed timestamp keeps CodeSha256 stable across seeds. */
function zip(files: Record<string, string>): Uint8Array {
  const mtime = new Date('2024-01-01T00:00:00Z')
  return zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, [strToU8(text), {mtime}]])))
}

const SEED_DIR = join(import.meta.dirname, 'seed')
const sources = new Map<string, string>()
/** The handlers and the layer are real files (sandbox/seed/), read once per process. */
function source(path: string): string {
  let text = sources.get(path)
  if (text === undefined) sources.set(path, (text = readFileSync(join(SEED_DIR, path), 'utf8')))
  return text
}

/** One function's code: its index.py (handler index.lambda_handler), the same bytes every time. */
export function seedFunctionZip(name: string): Uint8Array {
  if (!(name in SEED_FUNCTIONS)) throw new Error(`no seeded function ${name}`)
  return zip({'index.py': source(`functions/${name}/index.py`)})
}

/** A valid function zip (articles-api's), for tests that need some Python code. */
export function demoFunctionZip(): Uint8Array {
  return seedFunctionZip('articles-api')
}

/** The user's `shared-utils` layer: JSON responses with Decimal and sets, body checks, pages. */
export function sharedUtilsLayerZip(): Uint8Array {
  return zip({'python/shared_utils.py': source('layers/shared-utils/python/shared_utils.py')})
}

/** Ten articles; numbers (views, rating) come back as Decimal in Python, tags as a set. */
export function seedArticles(): Record<string, AttributeValue>[] {
  const titles = [
    'Welcome to the new site',
    'Election guide 2026',
    'Five books for the summer',
    'Interview with our editor',
    'Local news roundup',
    'Volunteering this fall',
    'Faith and public life',
    'Reader letters: March',
    'How we fact-check',
    'Year in review',
  ]
  return titles.map((title, i) => ({
    article_id: {S: `a-${String(i + 1).padStart(3, '0')}`},
    title: {S: title},
    author: {S: ['M. Lee', 'J. Ortiz', 'A. Novak'][i % 3]!},
    published_at: {S: `2026-0${(i % 9) + 1}-15T09:00:00Z`},
    views: {N: String(1000 + i * 137)},
    ...(i % 2 === 0 ? {rating: {N: (3.5 + (i % 4) * 0.25).toFixed(2)}} : {}),
    ...(i % 3 === 0 ? {tags: {SS: ['featured', i % 2 ? 'news' : 'opinion']}} : {}),
  }))
}

const isNotFound = (e: unknown) => e instanceof Error && /NoSuchEntity|ResourceNotFound/.test(e.name)

export interface SeedOptions {
  /**
   * Fill all five tables with a few hundred rows each (sandbox start, tests that invoke the
   * functions). Without it only `articles` exists, with ten rows.
   */
  data?: boolean
  /** Which rows (default DEFAULT_DATA_SEED): the same seed gives the same rows. */
  seed?: number
  /**
   * How many functions (default 5, the runbook's): more are copies of the five in turn
   * (`articles-api-06`, `video-list-api-07`, ...) with the same code, environment and table,
   * for running cct over an account with many functions.
   */
  functions?: number
}

/** The seeded functions' names and environments: the five, then copies of them in turn up to `count`. */
export function seedFunctions(count = RUNBOOK_COUNT): Record<string, Record<string, string>> {
  const bases = Object.entries(SEED_FUNCTIONS)
  const all: Record<string, Record<string, string>> = {}
  for (let i = 0; i < count; i++) {
    const [base, env] = bases[i % bases.length]!
    all[i < bases.length ? base : `${base}-${String(i + 1).padStart(2, '0')}`] = env
  }
  return all
}

/** The base function whose code a seeded name runs (`news-api-08` runs news-api's). */
function baseOf(name: string): string {
  return name.replace(/-\d+$/, '')
}

export const DEFAULT_DATA_SEED = 1
const RUNBOOK_COUNT = 5

export async function seedAccount(
  target: {endpoint: string; region: string},
  opts: SeedOptions = {},
): Promise<SeedInfo> {
  const [{IAMClient, GetRoleCommand, CreateRoleCommand, AttachRolePolicyCommand}, lambda, ddb] = await Promise.all([
    import('@aws-sdk/client-iam'),
    import('@aws-sdk/client-lambda'),
    import('@aws-sdk/client-dynamodb'),
  ])
  const config = {
    endpoint: target.endpoint,
    region: target.region,
    credentials: {accessKeyId: 'test', secretAccessKey: 'test'},
    // Lambda's control plane throttles many functions created at once (lambda_throttle.py).
    maxAttempts: 10,
    retryMode: 'adaptive',
  }
  const iam = new IAMClient(config)
  const lam = new lambda.LambdaClient(config)
  const dynamo = new ddb.DynamoDBClient(config)

  // The execution role: Lambda may assume it; only basic logging is attached, so cct has
  // to add the VPC access policy itself.
  const roleArn = await iam.send(new GetRoleCommand({RoleName: SEED_ROLE})).then(
    (r) => r.Role!.Arn!,
    async (e) => {
      if (!isNotFound(e)) throw e
      const created = await iam.send(
        new CreateRoleCommand({
          RoleName: SEED_ROLE,
          AssumeRolePolicyDocument: LAMBDA_TRUST,
          Tags: [{Key: 'project', Value: 'cct-demo'}],
        }),
      )
      return created.Role!.Arn!
    },
  )
  await iam.send(new AttachRolePolicyCommand({RoleName: SEED_ROLE, PolicyArn: BASIC_EXECUTION_POLICY}))

  const {LayerVersions = []} = await lam.send(new lambda.ListLayerVersionsCommand({LayerName: SEED_LAYER}))
  const layerArn =
    LayerVersions[0]?.LayerVersionArn ??
    (
      await lam.send(
        new lambda.PublishLayerVersionCommand({
          LayerName: SEED_LAYER,
          Description: 'Shared helpers of the demo API functions',
          Content: {ZipFile: sharedUtilsLayerZip()},
          CompatibleRuntimes: ['python3.12'],
        }),
      )
    ).LayerVersionArn!

  const functions = seedFunctions(opts.functions)
  await mapLimit(Object.entries(functions), 8, async ([name, variables]) => {
    const exists = await lam.send(new lambda.GetFunctionCommand({FunctionName: name})).then(
      () => true,
      (e) => (isNotFound(e) ? false : Promise.reject(e)),
    )
    if (exists) return
    await lam.send(
      new lambda.CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'python3.12',
        Handler: 'index.lambda_handler',
        Role: roleArn,
        Code: {ZipFile: seedFunctionZip(baseOf(name))},
        Description: `Demo API: ${name}`,
        Timeout: 10,
        MemorySize: 256,
        Environment: {Variables: variables},
        Layers: [layerArn],
        Tags: SEED_TAGS,
      }),
    )
  })

  // The articles table always (cheap: ten rows); the other tables, and articles' few
  // hundred rows, only when asked for, since many tests seed before every test.
  const tables = opts.data ? SEED_TABLES : SEED_TABLES.filter((t) => t.tableName === SEED_TABLE)
  await Promise.all(
    tables.map(async (table) => {
      const rows = [
        ...(table.tableName === SEED_TABLE ? seedArticles() : []),
        ...(opts.data
          ? seedRows(table, opts.seed ?? DEFAULT_DATA_SEED, table.tableName === SEED_TABLE ? 11 : 1).map(toAttributes)
          : []),
      ]
      const itemCount = await dynamo.send(new ddb.DescribeTableCommand({TableName: table.tableName})).then(
        (r) => r.Table?.ItemCount ?? 0,
        (e) => (isNotFound(e) ? undefined : Promise.reject(e)),
      )
      if (itemCount === undefined) {
        const attributes = new Set([table.key, ...(table.indexes ?? []).flatMap((i) => [i.hash, i.range])])
        await dynamo.send(
          new ddb.CreateTableCommand({
            TableName: table.tableName,
            AttributeDefinitions: [...attributes].map((AttributeName) => ({AttributeName, AttributeType: 'S'})),
            KeySchema: [{AttributeName: table.key, KeyType: 'HASH'}],
            GlobalSecondaryIndexes: table.indexes?.map((i) => ({
              IndexName: i.name,
              KeySchema: [
                {AttributeName: i.hash, KeyType: 'HASH'},
                {AttributeName: i.range, KeyType: 'RANGE'},
              ],
              Projection: {ProjectionType: 'ALL'},
            })),
            BillingMode: 'PAY_PER_REQUEST',
          }),
        )
      } else if (itemCount >= rows.length) {
        return // seeded already (puts are idempotent, but not free)
      }
      for (let i = 0; i < rows.length; i += 25) {
        let RequestItems: Record<string, WriteRequest[]> | undefined = {
          [table.tableName]: rows.slice(i, i + 25).map((Item) => ({PutRequest: {Item}})),
        }
        while (RequestItems && Object.keys(RequestItems).length) {
          ;({UnprocessedItems: RequestItems} = await dynamo.send(new ddb.BatchWriteItemCommand({RequestItems})))
        }
      }
    }),
  )

  for (const client of [iam, lam, dynamo]) client.destroy()
  return {
    roleArn,
    roleName: SEED_ROLE,
    functionNames: Object.keys(functions),
    layerArn,
    tableName: SEED_TABLE,
    tables: tables.map((t) => t.tableName),
  }
}

/** `work` over `items`, at most `limit` at a time (the seed is not subject to cct's own limits). */
async function mapLimit<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({length: Math.min(limit, items.length)}, async () => {
      while (next < items.length) await work(items[next++]!)
    }),
  )
}
