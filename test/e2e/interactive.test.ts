import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {useSandbox} from '../support/sandbox.js'
import {Terminal} from '../support/terminal.js'

const sandbox = useSandbox({seed: true, redis: false})
const bin = join(import.meta.dirname, '..', '..', 'bin', 'run.js')

function start(args: string, size?: {columns: number; rows: number}) {
  const dir = mkdtempSync(join(tmpdir(), 'cct-tty-'))
  const files = {config: join(dir, 'cct.json'), calls: join(dir, 'calls.jsonl'), exit: join(dir, 'exit')}
  const env = {...sandbox().env, CCT_CALL_LOG: files.calls, CCT_POLL_INTERVAL_MS: '200', PATH: process.env.PATH ?? ''}
  const terminal = Terminal.start(`${process.execPath} ${bin} ${args} --config ${files.config}`, env, files.exit, size)
  const mutating = () =>
    existsSync(files.calls)
      ? readFileSync(files.calls, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as {mutating: boolean})
          .filter((c) => c.mutating)
      : []
  return {terminal, files, mutating}
}

const ENTER = 'Enter'

describe('cct setup in a real terminal', () => {
  it('asks its questions, shows the plan with costs, and sets up what was answered', async () => {
    const {terminal, files} = start('setup')
    try {
      const first = await terminal.waitFor(/Functions to put behind the cache/)
      assert.match(first, /Account 123456789012/)
      assert.match(first, /◉ articles-api/, 'the runbook functions are preselected')
      terminal.keys(ENTER)
      await terminal.waitFor(/Network/)
      terminal.keys(ENTER) // a new VPC
      const nat = await terminal.waitFor(/internet services other than DynamoDB and S3\?/)
      assert.match(
        nat,
        /NAT gateway, about \$32\.85\/month \+ \$0\.045\/GB, Price List API, 2025-10-21/,
        'the NAT cost is shown before choosing it, with its source',
      )
      terminal.keys(ENTER) // no NAT (the default)
      await terminal.waitFor(/Cache engine/)
      terminal.keys('Down', ENTER) // valkey
      await terminal.waitFor(/Replicas/)
      terminal.keys(ENTER)
      const nodeTypes = await terminal.waitFor(/Node type/)
      assert.match(nodeTypes, /cache\.t4g\.micro +about \$9\.34\/month/, 'valkey prices are shown')
      assert.match(
        nodeTypes,
        /Node type \(monthly, 1 node, Price List API, 2025-10-14\)/,
        "from the sandbox's Price List API, the source said once",
      )
      terminal.keys('Up', ENTER) // from cache.t3.micro up to cache.t4g.micro
      await terminal.waitFor(/Encrypt traffic to the cache/)
      terminal.keys(ENTER)
      const autoCache = await terminal.waitFor(/Cache DynamoDB reads without code changes\?/)
      assert.match(
        autoCache,
        /ConsistentRead,\s+transactions and PartiQL reads go to DynamoDB/,
        'the consistency contract is shown before the question',
      )
      terminal.keys(ENTER) // yes, the guided default
      await terminal.waitFor(/Alarm on the runbook targets/)
      terminal.keys(ENTER) // no alarms (empty)
      // No NAT: the two seeded functions that reach the internet are asked about, unchecked.
      const losses = await terminal.waitFor(/Move which anyway\?/)
      assert.match(losses, /news-api +loses the internet \(news\.example\.com\): NEWS_FEED_URL/)
      terminal.keys('a', ENTER) // both, anyway
      const plan = await terminal.waitFor(/Go ahead\?/)
      assert.match(plan, /Cache +create replication-group cct-cache \(valkey 8\.0, cache\.t4g\.micro x1,\s+TLS\s+on/)
      assert.match(plan, /Cost +cache: about \$9\.34\/month \(1 node, Price List API, 2025-10-14\)/)
      terminal.keys('y', ENTER)
      const end = await terminal.waitFor(/Set up stack "cct" in us-east-1: \d+ changes made\./, 120_000)
      assert.equal(await terminal.exitCode(), 0)
      assert.match(end, /✔ Cache \(ElastiCache\): done \(1 change\)/, 'the live progress ends with each step done')
      assert.match(end, /next +cct verify/)
      assert.doesNotMatch(end, /STEP +ACTION +RESOURCE/, 'no plan table after applying')
      const saved = JSON.parse(readFileSync(files.config, 'utf8')) as Record<string, unknown>
      assert.equal(saved.engine, 'valkey')
      assert.equal(saved.nat, undefined, 'no NAT unless asked')
      assert.equal(saved.nodeType, 'cache.t4g.micro')
      assert.equal(saved.autoCache, true)
      assert.deepEqual(saved.functions, [
        'articles-api',
        'contributors-api',
        'news-api',
        'resources-api',
        'video-list-api',
      ])
    } finally {
      terminal.close()
    }
  })

  it('offers ElastiCache Serverless with its floor price; choosing it skips the node questions and saves serverless', async () => {
    const {terminal, files} = start('setup')
    try {
      await terminal.waitFor(/Functions to put behind the cache/)
      terminal.keys(ENTER)
      await terminal.waitFor(/Network/)
      terminal.keys(ENTER) // a new VPC
      await terminal.waitFor(/internet services other than DynamoDB and S3\?/)
      terminal.keys(ENTER) // no NAT
      const engines = await terminal.waitFor(/Cache engine/)
      assert.match(
        engines,
        /valkey 8 serverless \(no node sizing, about \$6\.13\/month at its 100 MB floor, plus ECPUs\)/,
        "the serverless floor, from the pricing code the plan's cost uses",
      )
      assert.match(
        engines,
        /redis 7 serverless \(no node sizing, about \$91\.\d\d\/month at its 1 GB floor, plus ECPUs\)/,
      )
      terminal.keys('Down', 'Down', ENTER) // valkey serverless
      // No replicas, node type or TLS question: the next is auto-cache.
      const next = await terminal.waitFor(/Cache DynamoDB reads without code changes\?/)
      assert.doesNotMatch(next, /Replicas|Node type|Encrypt traffic/)
      terminal.keys(ENTER)
      await terminal.waitFor(/Alarm on the runbook targets/)
      terminal.keys(ENTER)
      await terminal.waitFor(/Move which anyway\?/)
      terminal.keys(ENTER) // none: the two that reach the internet stay out
      const plan = await terminal.waitFor(/Go ahead\?/)
      assert.match(plan, /Cache +create serverless-cache cct-cache/)
      assert.match(plan, /Cost +cache: about \$6\.13\/month \(100 MB minimum storage/)
      terminal.keys('y', ENTER)
      await terminal.waitFor(/Set up stack "cct" in us-east-1: \d+ changes made\./, 120_000)
      assert.equal(await terminal.exitCode(), 0)
      const saved = JSON.parse(readFileSync(files.config, 'utf8')) as Record<string, unknown>
      assert.equal(saved.serverless, true)
      assert.equal(saved.engine, 'valkey')
      for (const key of ['nodeType', 'replicas', 'shards', 'tls'])
        assert.equal(saved[key], undefined, `${key}: a serverless cache has none to save`)
    } finally {
      terminal.close()
    }
  })

  it('the screen before the confirm fits in 100 columns by 40 lines: answers, a short plan, its cost and time', async () => {
    const {terminal, files, mutating} = start('setup', {columns: 100, rows: 40})
    try {
      await terminal.waitFor(/Functions to put behind the cache/)
      // Every default: the runbook's five functions, a new VPC, no NAT, redis on cache.t3.micro, TLS, auto-cache, no alarms.
      for (const question of [
        /Network/,
        /internet services other than DynamoDB and S3\?/,
        /Cache engine/,
        /Replicas/,
        /Node type/,
        /Encrypt traffic/,
        /without code changes\?/,
        /Alarm on the runbook targets/,
        /Move which anyway\?/, // none: news-api and video-list-api stay out of the VPC
      ]) {
        terminal.keys(ENTER)
        await terminal.waitFor(question)
      }
      terminal.keys(ENTER)
      await terminal.waitFor(/Go ahead\?/)
      const rows = terminal.visible()
      const first = rows.findIndex((r) => r.startsWith('Account 123456789012'))
      const question = rows.findIndex((r) => /Go ahead\?/.test(r))
      assert.ok(
        first >= 0 && question > first,
        `the whole setup screen, from the account line to the question, is on one 40-row screen:\n${rows.join('\n')}`,
      )
      // Joined back, no row was wrapped: every line fits in 100 columns.
      const lines = terminal.screen().split('\n')
      const shown = lines.slice(
        lines.findIndex((l) => l.startsWith('Account ')),
        lines.findIndex((l) => /Go ahead\?/.test(l)) + 1,
      )
      const widest = Math.max(...shown.map((l) => [...l].length))
      assert.ok(widest <= 100, `every line fits 100 columns (widest ${widest}):\n${shown.join('\n')}`)
      assert.ok(shown.length <= 40, `${shown.length} lines`)
      const text = shown.join('\n')
      assert.match(text, /Plan for stack "cct" in us-east-1: \d+ changes \(`cct plan` lists each\)/)
      assert.match(
        text,
        /^ {2}Network +create vpc cct-vpc \(10\.0\.0\.0\/16\), 2 subnets/m,
        'grouped by resource: the subnets counted',
      )
      assert.match(
        text,
        /^ {2}Functions into the VPC +attach iam-role-policy cct-demo-lambda-role; update function-vpc\s+articles-api, contributors-api, resources-api/m,
        'your functions named (not the two kept out)',
      )
      assert.match(text, /^ {2}Cost +cache: about \$12\.41\/month \(1 node, Price List API, 2025-10-14\)$/m)
      assert.match(
        text,
        /^ {2}Time +usually 5-15 minutes, most of it creating the cache cct-cache$/m,
        'how long, before the question',
      )
      assert.doesNotMatch(text, /dry run|STEP +ACTION|pending:/)
      process.stdout.write(`# setup screen before the confirm: ${shown.length} lines, widest ${widest} columns\n`)
      terminal.keys('n', ENTER)
      await terminal.waitFor(/Cancelled; nothing was changed/)
      assert.equal(await terminal.exitCode(), 130)
      assert.deepEqual(mutating(), [])
      assert.ok(!existsSync(files.config), 'no answers saved')
    } finally {
      terminal.close()
    }
  })

  it('Ctrl-C at a question exits 130 with nothing changed', async () => {
    const {terminal, files, mutating} = start('setup')
    try {
      await terminal.waitFor(/Functions to put behind the cache/)
      terminal.keys('C-c')
      await terminal.waitFor(/Cancelled; nothing was changed/)
      assert.equal(await terminal.exitCode(), 130)
      assert.deepEqual(mutating(), [])
      assert.ok(!existsSync(files.config), 'no answers saved')
    } finally {
      terminal.close()
    }
  })
})
