/**
 * Moving a function into a VPC without NAT cuts it off from the internet and from every AWS
 * service but DynamoDB and S3. setup finds what each function would lose (its environment's
 * URLs, AWS hostnames and ARNs) and, with --yes, refuses before any change; with --nat, or a
 * NAT route already there, nothing is lost. The question on a terminal is unit-tested
 * (test/unit/internet-loss.test.ts).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {cli} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({
  seed: true,
  redis: false,
  fidelity: {replicationGroupCreateSeconds: 0, replicationGroupDeleteSeconds: 0, eniLingerSeconds: 0},
})

describe('functions that would lose the internet in the VPC', () => {
  it('setup --yes without --nat refuses in one line naming news-api, NEWS_FEED_URL and --nat; nothing changes', async () => {
    const run = await cli(['setup', '--yes'], sandbox().env)
    assert.equal(run.code, 2, run.stderr)
    const lines = run.stderr.trim().split('\n')
    assert.equal(lines.length, 1, run.stderr)
    assert.match(lines[0]!, /news-api would lose NEWS_FEED_URL \(news\.example\.com\)/)
    assert.match(lines[0]!, /--nat/)
    assert.deepEqual(run.mutating, [])
    // The plan shows it too.
    const plan = await cli(['plan'], sandbox().env)
    assert.match(plan.stdout, /without a NAT gateway it loses NEWS_FEED_URL \(news\.example\.com\)/)
  })

  it('with --nat nothing is lost: setup proceeds', async () => {
    const run = await cli(['setup', '--yes', '--nat', '--functions', 'news-api'], sandbox().env)
    assert.equal(run.code, 0, run.stderr)
  })

  it('a NAT route already on the subnets: setup without --nat proceeds', async () => {
    assert.equal((await cli(['vpc', '--nat'], sandbox().env)).code, 0)
    const run = await cli(['setup', '--yes', '--functions', 'news-api'], sandbox().env)
    assert.equal(run.code, 0, run.stderr)
  })
})
