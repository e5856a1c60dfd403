import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {useSandbox} from '../support/sandbox.js'
import {Terminal} from '../support/terminal.js'

const sandbox = useSandbox({seed: true, redis: false})
const bin = join(import.meta.dirname, '..', '..', 'bin', 'run.js')

function start(args: string) {
  const dir = mkdtempSync(join(tmpdir(), 'cct-tty-'))
  const files = {config: join(dir, 'cct.json'), calls: join(dir, 'calls.jsonl'), exit: join(dir, 'exit')}
  const env = {...sandbox().env, CCT_CALL_LOG: files.calls, CCT_POLL_INTERVAL_MS: '200', PATH: process.env.PATH ?? ''}
  const terminal = Terminal.start(`${process.execPath} ${bin} ${args} --config ${files.config}`, env, files.exit)
  const mutating = () => (existsSync(files.calls) ? readFileSync(files.calls, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as {mutating: boolean}).filter((c) => c.mutating) : [])
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
      assert.match(nat, /NAT gateway, about \$32\.85\/month \+ \$0\.045\/GB, Price List API, 2025-10-21/, 'the NAT cost is shown before choosing it, with its source')
      terminal.keys(ENTER) // no NAT (the default)
      await terminal.waitFor(/Cache engine/)
      terminal.keys('Down', ENTER) // valkey
      await terminal.waitFor(/Replicas/)
      terminal.keys(ENTER)
      const nodeTypes = await terminal.waitFor(/Node type/)
      assert.match(nodeTypes, /cache\.t4g\.micro +about \$9\.34\/month/, 'valkey prices are shown')
      assert.match(nodeTypes, /Node type \(monthly, 1 node, Price List API, 2025-10-14\)/, "from the sandbox's Price List API, the source said once")
      terminal.keys('Up', ENTER) // from cache.t3.micro up to cache.t4g.micro
      await terminal.waitFor(/Encrypt traffic to the cache/)
      terminal.keys(ENTER)
      const autoCache = await terminal.waitFor(/Cache DynamoDB reads without code changes\?/)
      assert.match(autoCache, /ConsistentRead, transactions and PartiQL reads go to DynamoDB/, 'the consistency contract is shown before the question')
      terminal.keys(ENTER) // yes, the guided default
      await terminal.waitFor(/Alarm on the runbook targets/)
      terminal.keys(ENTER) // no alarms (empty)
      const plan = await terminal.waitFor(/Go ahead\?/)
      assert.match(plan, /create +replication-group +cct-cache +valkey 8\.0, cache\.t4g\.micro x1/)
      terminal.keys('y', ENTER)
      await terminal.waitFor(/Done\./, 120_000)
      assert.equal(await terminal.exitCode(), 0)
      const saved = JSON.parse(readFileSync(files.config, 'utf8')) as Record<string, unknown>
      assert.equal(saved.engine, 'valkey')
      assert.equal(saved.nat, undefined, 'no NAT unless asked')
      assert.equal(saved.nodeType, 'cache.t4g.micro')
      assert.equal(saved.autoCache, true)
      assert.deepEqual(saved.functions, ['articles-api', 'contributors-api', 'news-api', 'resources-api', 'video-list-api'])
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
