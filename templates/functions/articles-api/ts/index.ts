/**
 * articles-api on the cct cache layer (Node.js 22/24): the runbook's articles API, with
 * the cache in front of DynamoDB.
 *
 *   GET /articles            list (the whole table, scanned page by page), cached 30 min
 *   GET /articles/{id}       one article, cached 1 h (not-found cached briefly)
 *   PUT /articles/{id}       update title/content, then invalidate the item and the list
 *
 * Accepts API Gateway HTTP API (v2: rawPath, requestContext.http.method) and REST API
 * (v1: path, httpMethod) events. Bundle with esbuild marking `cct-cache` and `@aws-sdk/*`
 * external: the layer provides the first, the Lambda runtime the second.
 *
 * Env: ARTICLES_TABLE (articles), SCAN_PAGE_SIZE (optional Limit per scan page), and the
 * cache's REDIS_HOST/REDIS_PORT/REDIS_TLS/CACHE_* (set by `cct setup`).
 */
import {
  DynamoDBClient,
  GetItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb'
import {getCache} from 'cct-cache'

const TABLE = process.env.ARTICLES_TABLE ?? 'articles'
const SCAN_PAGE_SIZE = Number(process.env.SCAN_PAGE_SIZE) || undefined

// Module scope: created once per container, reused by every invocation.
const ddb = new DynamoDBClient({})
const cache = getCache()

export interface Article {
  article_id: string
  title?: string
  content?: string
  [attribute: string]: unknown
}

const LIST_KEY = 'articles:list'

/** Cached at `article:<id>`: the same key the runbook used, so invalidation is by id. */
const getArticle = cache.wrap(
  async (articleId: string): Promise<Article | undefined> => {
    const {Item} = await ddb.send(new GetItemCommand({TableName: TABLE, Key: {article_id: {S: articleId}}}))
    return Item ? (fromItem(Item) as Article) : undefined
  },
  {prefix: 'article', preset: 'articles'},
)

async function listArticles(): Promise<Article[]> {
  return (await cache.getOrLoad(LIST_KEY, scanAll, {preset: 'lists'})) ?? []
}

/** The whole table: Scan returns at most 1 MB per call, so follow LastEvaluatedKey. */
async function scanAll(): Promise<Article[]> {
  const articles: Article[] = []
  let startKey: Record<string, AttributeValue> | undefined
  do {
    const page = await ddb.send(new ScanCommand({TableName: TABLE, ExclusiveStartKey: startKey, Limit: SCAN_PAGE_SIZE}))
    for (const item of page.Items ?? []) articles.push(fromItem(item) as Article)
    startKey = page.LastEvaluatedKey
  } while (startKey)
  return articles
}

async function updateArticle(articleId: string, updates: {title: string; content: string}): Promise<{success: true}> {
  await ddb.send(
    new UpdateItemCommand({
      TableName: TABLE,
      Key: {article_id: {S: articleId}},
      UpdateExpression: 'SET #title = :title, #content = :content',
      ExpressionAttributeNames: {'#title': 'title', '#content': 'content'},
      ExpressionAttributeValues: {':title': {S: updates.title}, ':content': {S: updates.content}},
    }),
  )
  // After the write: drop the item and the list. Loads already running elsewhere will not
  // write their older copies back (the helper checks an invalidation counter).
  await cache.invalidate(`article:${articleId}`, LIST_KEY)
  return {success: true}
}

export interface ApiEvent {
  rawPath?: string
  path?: string
  httpMethod?: string
  requestContext?: {http?: {method?: string}}
  body?: string | null
  isBase64Encoded?: boolean
}

export interface ApiResult {
  statusCode: number
  headers: Record<string, string>
  body: string
}

const json = (statusCode: number, body: unknown): ApiResult => ({
  statusCode,
  headers: {'content-type': 'application/json'},
  body: JSON.stringify(body),
})

// cache.handler: one metrics line per invocation instead of one per cache call.
export const handler = cache.handler(async (event: ApiEvent): Promise<ApiResult> => {
  const path = event.rawPath ?? event.path ?? ''
  const method = event.requestContext?.http?.method ?? event.httpMethod ?? ''
  const match = /^\/articles\/([^/]+)$/.exec(path)
  const articleId = match ? decodeURIComponent(match[1]!) : undefined

  if (path === '/articles' && method === 'GET') return json(200, await listArticles())

  if (articleId !== undefined && method === 'GET') {
    const article = await getArticle(articleId)
    return article ? json(200, article) : json(404, {message: `article ${articleId} not found`})
  }

  if (articleId !== undefined && method === 'PUT') {
    const updates = parseUpdates(event)
    if (!updates) return json(400, {message: 'body must be JSON with string "title" and "content"'})
    return json(200, await updateArticle(articleId, updates))
  }

  return json(404, {message: `no route for ${method} ${path}`})
})

function parseUpdates(event: ApiEvent): {title: string; content: string} | undefined {
  try {
    const text = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '')
    const body = JSON.parse(text) as {title?: unknown; content?: unknown}
    if (typeof body.title === 'string' && typeof body.content === 'string') return {title: body.title, content: body.content}
  } catch {
    // fall through: a 400 says what is expected
  }
  return undefined
}

/** DynamoDB's typed attributes to plain JSON (what @aws-sdk/lib-dynamodb's unmarshall does). */
export function fromItem(item: Record<string, AttributeValue>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, fromAttribute(value)]))
}

function fromAttribute(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S
  if (value.N !== undefined) return Number(value.N)
  if (value.BOOL !== undefined) return value.BOOL
  if (value.NULL) return null
  if (value.SS !== undefined) return value.SS
  if (value.NS !== undefined) return value.NS.map(Number)
  if (value.B !== undefined) return Buffer.from(value.B).toString('base64')
  if (value.BS !== undefined) return value.BS.map((b) => Buffer.from(b).toString('base64'))
  if (value.L !== undefined) return value.L.map(fromAttribute)
  if (value.M !== undefined) return fromItem(value.M)
  return undefined
}
