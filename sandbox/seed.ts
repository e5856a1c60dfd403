/**
 * Makes the sandbox account look like the runbook's before cct touches it: five Python
 * functions with their own env vars, tags and layer, an execution role without VPC
 * permissions, and the `articles` table. Everything here is "the user's", so rollback
 * tests can check it survives byte for byte.
 */
import type {AttributeValue} from '@aws-sdk/client-dynamodb'
import {zipSync, strToU8} from 'fflate'

export interface SeedInfo {
  roleArn: string
  roleName: string
  functionNames: string[]
  /** Version ARN of the user's own layer, attached to every function. */
  layerArn: string
  tableName: string
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

const HANDLER = `import json
import os

import boto3
from shared_utils import response

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def lambda_handler(event, context):
    return response(200, table.scan(Limit=int(os.environ.get("PAGE_SIZE", "20")))["Items"])
`

const SHARED_UTILS = `import json
from decimal import Decimal


def _default(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(type(value).__name__)


def response(status, body):
    return {"statusCode": status, "body": json.dumps(body, default=_default)}
`

/** Same input, same bytes: a fixed timestamp keeps CodeSha256 stable across seeds. */
function zip(files: Record<string, string>): Uint8Array {
  const mtime = new Date('2024-01-01T00:00:00Z')
  return zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, [strToU8(text), {mtime}]])))
}

/** The demo functions' code: a valid zip with index.py (handler index.lambda_handler). */
export function demoFunctionZip(): Uint8Array {
  return zip({'index.py': HANDLER})
}

/** Ten articles; numbers (views, rating) come back as Decimal in Python, tags as a set. */
export function seedArticles(): Record<string, AttributeValue>[] {
  const titles = [
    'Welcome to the new site', 'Election guide 2026', 'Five books for the summer', 'Interview with our editor',
    'Local news roundup', 'Volunteering this fall', 'Faith and public life', 'Reader letters: March',
    'How we fact-check', 'Year in review',
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

const isNotFound = (e: unknown) =>
  e instanceof Error && /NoSuchEntity|ResourceNotFound/.test(e.name)

export async function seedAccount(target: {endpoint: string; region: string}): Promise<SeedInfo> {
  const [{IAMClient, GetRoleCommand, CreateRoleCommand, AttachRolePolicyCommand}, lambda, ddb] = await Promise.all([
    import('@aws-sdk/client-iam'),
    import('@aws-sdk/client-lambda'),
    import('@aws-sdk/client-dynamodb'),
  ])
  const config = {
    endpoint: target.endpoint,
    region: target.region,
    credentials: {accessKeyId: 'test', secretAccessKey: 'test'},
    maxAttempts: 1,
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
      const created = await iam.send(new CreateRoleCommand({RoleName: SEED_ROLE, AssumeRolePolicyDocument: LAMBDA_TRUST, Tags: [{Key: 'project', Value: 'cct-demo'}]}))
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
          Content: {ZipFile: zip({'python/shared_utils.py': SHARED_UTILS})},
          CompatibleRuntimes: ['python3.12'],
        }),
      )
    ).LayerVersionArn!

  const code = demoFunctionZip()
  await Promise.all(
    Object.entries(SEED_FUNCTIONS).map(async ([name, variables]) => {
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
          Code: {ZipFile: code},
          Description: `Demo API: ${name}`,
          Timeout: 10,
          MemorySize: 256,
          Environment: {Variables: variables},
          Layers: [layerArn],
          Tags: SEED_TAGS,
        }),
      )
    }),
  )

  const tableExists = await dynamo.send(new ddb.DescribeTableCommand({TableName: SEED_TABLE})).then(
    () => true,
    (e) => (isNotFound(e) ? false : Promise.reject(e)),
  )
  if (!tableExists) {
    await dynamo.send(
      new ddb.CreateTableCommand({
        TableName: SEED_TABLE,
        AttributeDefinitions: [{AttributeName: 'article_id', AttributeType: 'S'}],
        KeySchema: [{AttributeName: 'article_id', KeyType: 'HASH'}],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    )
    await dynamo.send(
      new ddb.BatchWriteItemCommand({
        RequestItems: {[SEED_TABLE]: seedArticles().map((Item) => ({PutRequest: {Item}}))},
      }),
    )
  }

  for (const client of [iam, lam, dynamo]) client.destroy()
  return {roleArn, roleName: SEED_ROLE, functionNames: Object.keys(SEED_FUNCTIONS), layerArn, tableName: SEED_TABLE}
}
