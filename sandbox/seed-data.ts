/**
 * The rows of the five seeded tables, made up but shaped like a small publisher's data:
 * numbers that come back as Decimal in Python, string sets, and items from a few hundred
 * bytes to ~20 KB (DynamoDB bills reads per 4 KB, so sizes change what a cache saves).
 * Deterministic: the same seed gives the same rows, byte for byte.
 */
import type {AttributeValue} from '@aws-sdk/client-dynamodb'

export interface SeedTable {
  functionName: string
  tableName: string
  /** The partition key (a string); ids are `<idPrefix>-001`, `<idPrefix>-002`, ... */
  key: string
  idPrefix: string
  /** Rows with `seedAccount(target, {data: true})`. */
  count: number
  /** The API's collection path: GET/PUT `<path>/<id>`, GET `<path>`. */
  path: string
  /** Global secondary indexes (hash, range), all string attributes. */
  indexes?: {name: string; hash: string; range: string}[]
}

export const SEED_TABLES: SeedTable[] = [
  {
    functionName: 'articles-api',
    tableName: 'articles',
    key: 'article_id',
    idPrefix: 'a',
    count: 300,
    path: '/articles',
  },
  {functionName: 'video-list-api', tableName: 'videos', key: 'video_id', idPrefix: 'v', count: 250, path: '/videos'},
  {
    functionName: 'news-api',
    tableName: 'news',
    key: 'news_id',
    idPrefix: 'n',
    count: 400,
    path: '/news',
    indexes: [{name: 'category-published_at-index', hash: 'category', range: 'published_at'}],
  },
  {
    functionName: 'resources-api',
    tableName: 'resources',
    key: 'resource_id',
    idPrefix: 'r',
    count: 200,
    path: '/resources',
  },
  {
    functionName: 'contributors-api',
    tableName: 'contributors',
    key: 'contributor_id',
    idPrefix: 'c',
    count: 150,
    path: '/contributors',
  },
]

/** A row as plain values: string, number (N; fractional ones are Decimal in Python), string[] (SS). */
export type Row = Record<string, string | number | string[]>

export const idOf = (table: SeedTable, n: number) => `${table.idPrefix}-${String(n).padStart(3, '0')}`

/** mulberry32: tiny, fast, and the same sequence on every platform for a given seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A 32-bit seed per (seed, name), so each table has its own stream. */
export function mix(seed: number, name: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0
  return h
}

const WORDS = (
  'faith community election county board school library budget volunteer family church council ' +
  'summer winter harvest festival interview review guide history future policy vote report local ' +
  'state national youth music sermon mission charity health science teacher parent neighbor story ' +
  'letter editor reader season market river bridge road park garden hospital veteran freedom liberty'
).split(' ')
const PEOPLE = [
  'M. Lee',
  'J. Ortiz',
  'A. Novak',
  'S. Patel',
  'R. Nguyen',
  'K. Brown',
  'D. Okafor',
  'L. Rossi',
  'E. Schmidt',
  'T. Kim',
]
const CATEGORIES = ['politics', 'faith', 'community', 'education', 'culture', 'opinion']
const CHANNELS = ['Sunday Service', 'Town Hall', 'Youth Ministry', 'Newsroom', 'Book Club']
const SOURCES = ['Staff', 'AP', 'Reuters', 'Local Desk', 'Guest']
const REGIONS = ['north', 'south', 'east', 'west', 'national']
const KINDS = ['pdf', 'guide', 'video', 'link', 'worksheet']
const ROLES = ['writer', 'editor', 'photographer', 'reviewer', 'translator']

type Rng = () => number
const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1))
const pick = <T>(rng: Rng, xs: readonly T[]) => xs[Math.floor(rng() * xs.length)]!
const cents = (x: number) => Math.round(x * 100) / 100
const capital = (w: string) => w[0]!.toUpperCase() + w.slice(1)
function some<T>(rng: Rng, xs: readonly T[], lo: number, hi: number): T[] {
  const left = [...xs]
  return Array.from(
    {length: Math.min(int(rng, lo, hi), xs.length)},
    () => left.splice(Math.floor(rng() * left.length), 1)[0]!,
  )
}
const title = (rng: Rng) =>
  Array.from({length: int(rng, 3, 7)}, () => pick(rng, WORDS))
    .map(capital)
    .join(' ')
/** Mostly a few hundred bytes, a quarter a few KB, one in twenty up to ~20 KB. */
function text(rng: Rng): string {
  const r = rng()
  const chars = r < 0.7 ? int(rng, 150, 1500) : r < 0.95 ? int(rng, 1500, 6000) : int(rng, 6000, 20000)
  const words: string[] = []
  let length = 0
  while (length < chars) {
    const w = pick(rng, WORDS)
    words.push(words.length % 12 === 0 ? capital(w) : w)
    length += w.length + 1
  }
  return words.join(' ') + '.'
}
const date = (rng: Rng, from = 2019) =>
  `${int(rng, from, 2026)}-${String(int(rng, 1, 12)).padStart(2, '0')}-${String(int(rng, 1, 28)).padStart(2, '0')}T${String(int(rng, 0, 23)).padStart(2, '0')}:${String(int(rng, 0, 59)).padStart(2, '0')}:00Z`
/** Heavy-tailed counts, as views and downloads are. */
const counts = (rng: Rng, scale: number) => Math.floor(scale * Math.pow(1 - rng(), -1.2)) - scale + int(rng, 0, 9)

/** One row of a table, for the given id; also what traffic PUTs (a full, valid item). */
export function makeRow(tableName: string, id: string, rng: Rng): Row {
  switch (tableName) {
    case 'articles': {
      const body = text(rng)
      return {
        article_id: id,
        title: title(rng),
        author: pick(rng, PEOPLE),
        category: pick(rng, CATEGORIES),
        published_at: date(rng),
        views: counts(rng, 400),
        body,
        word_count: body.split(' ').length,
        ...(rng() < 0.6 ? {rating: cents(1 + rng() * 4)} : {}),
        ...(rng() < 0.5 ? {tags: some(rng, ['featured', 'news', 'opinion', 'local', 'longread'], 1, 3)} : {}),
      }
    }
    case 'videos':
      return {
        video_id: id,
        title: title(rng),
        channel: pick(rng, CHANNELS),
        duration_seconds: int(rng, 30, 5400),
        published_at: date(rng),
        views: counts(rng, 900),
        likes: counts(rng, 30),
        description: text(rng),
        resolutions: some(rng, ['360p', '480p', '720p', '1080p', '2160p'], 2, 5),
      }
    case 'news':
      return {
        news_id: id,
        headline: title(rng),
        category: pick(rng, CATEGORIES),
        source: pick(rng, SOURCES),
        published_at: date(rng, 2025),
        summary: text(rng),
        priority: int(rng, 1, 5),
        ...(rng() < 0.4 ? {regions: some(rng, REGIONS, 1, 3)} : {}),
      }
    case 'resources': {
      const kind = pick(rng, KINDS)
      return {
        resource_id: id,
        title: title(rng),
        kind,
        s3_key: `${kind}s/${id}.${kind === 'pdf' ? 'pdf' : 'zip'}`,
        description: text(rng),
        size_bytes: int(rng, 20_000, 80_000_000),
        downloads: counts(rng, 50),
        price: rng() < 0.7 ? 0 : cents(0.99 + rng() * 20),
        topics: some(rng, CATEGORIES, 1, 4),
      }
    }
    case 'contributors': {
      const name = pick(rng, PEOPLE).replace(/^\w\./, capital(pick(rng, WORDS)))
      return {
        contributor_id: id,
        name,
        email: `${name.toLowerCase().replace(/\W+/g, '.')}.${id}@example.org`,
        bio: text(rng),
        joined_at: date(rng, 2010),
        articles_count: counts(rng, 5),
        rating: cents(2 + rng() * 3),
        roles: some(rng, ROLES, 1, 3),
      }
    }
    default:
      throw new Error(`no seeded table ${tableName}`)
  }
}

/** Every row of a table for a seed (ids `<prefix>-001` up to its count). */
export function seedRows(table: SeedTable, seed: number, first = 1): Row[] {
  const rng = random(mix(seed, table.tableName))
  const rows: Row[] = []
  for (let n = first; n <= table.count; n++) rows.push(makeRow(table.tableName, idOf(table, n), rng))
  return rows
}

export function toAttributes(row: Row): Record<string, AttributeValue> {
  return Object.fromEntries(
    Object.entries(row).map(([name, value]): [string, AttributeValue] => [
      name,
      typeof value === 'string'
        ? {S: value}
        : typeof value === 'number'
          ? {N: String(value)}
          : {SS: [...new Set(value)]},
    ]),
  )
}
