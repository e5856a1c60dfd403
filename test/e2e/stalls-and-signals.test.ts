/**
 * Issue #12, item 12: an endpoint that accepts and never answers fails with one line
 * instead of hanging, and SIGTERM / SIGINT stop cct at once with exit 130 and a state the
 * same command resumes from. The bounds below are the ("at once", "a couple of
 * seconds"); what they prove is that no call in flight is waited for.
 */
import assert from 'node:assert/strict'
import {createServer, type Server, type Socket} from 'node:net'
import {after, before, describe, it} from 'node:test'

import {DescribeVpcsCommand, EC2Client} from '@aws-sdk/client-ec2'

import {cli} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({redis: false})

/** A loopback TCP server that accepts every connection and never writes a byte. */
let silent: Server
let silentUrl: string
const sockets: Socket[] = []
before(async () => {
  silent = createServer((socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  const address = silent.address()
  silentUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
})
after(() => {
  for (const s of sockets) s.destroy()
  silent.close()
})

/** cct's own error lines: the renderer's line for the failed step (`…: failed [FAILED: …]`) is the UI's, not the report. */
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('✖ ') && !l.includes(': failed ['))

/** What a child needs to talk to the silent server instead of the sandbox. */
const silentEnv = () => ({...sandbox().env, AWS_ENDPOINT_URL: silentUrl})

describe('an endpoint that accepts and never answers', () => {
  it('fails with one line naming the call and the timeout, within the timeout x attempts', async () => {
    const started = Date.now()
    const run = await cli(['vpc', '--dry-run'], {...silentEnv(), CCT_REQUEST_TIMEOUT: '0.5'})
    const seconds = (Date.now() - started) / 1000
    assert.equal(run.code, 1, run.stderr)
    const lines = errorLines(run.stderr)
    assert.equal(lines.length, 1, run.stderr)
    // The plan's first reads go out at once: whichever times out first is named.
    assert.match(
      lines[0]!,
      /^✖ AWS did not answer ec2:\w+ in time \(the request socket timed out after 500 ms of inactivity/,
    )
    assert.match(lines[0]!, /CCT_CONNECT_TIMEOUT and CCT_REQUEST_TIMEOUT \(seconds\) set the limits/)
    // Four attempts of 0.5 s and the SDK's backoff: far below "for ever" and the 30 s default.
    assert.ok(seconds < 20, `took ${seconds} s`)
  })
})

describe('signals stop cct at once with exit 130', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} during a call that never answers`, async () => {
      let sentAt = 0
      // --dry-run: its progress shows (a run's plan pass is silent); JSON progress says
      // when the step starts, that is as its first call goes out.
      const run = await cli(['vpc', '--dry-run', '--progress', 'json'], silentEnv(), {
        killOn: /"step-start"/,
        signal,
        onKill: () => (sentAt = Date.now()),
      })
      const seconds = (Date.now() - sentAt) / 1000
      assert.ok(run.killed, `cct reached its first call:\n${run.stdout}\n${run.stderr}`)
      assert.equal(run.code, 130, run.stderr)
      assert.match(run.stderr, /✖ Interrupted\. What was created is tagged; run the same command again to resume/)
      assert.equal(errorLines(run.stderr).length, 1, `reported once: ${run.stderr}`)
      assert.ok(seconds < 2.5, `exited ${seconds} s after ${signal}`)
    })
  }

  it('SIGTERM in the middle of creating the network, then the same command finishes it', async () => {
    const env = sandbox().env
    const first = await cli(['vpc'], env, {killOn: /created vpc-/, signal: 'SIGTERM'})
    assert.ok(first.killed, `${first.stdout}\n${first.stderr}`)
    assert.equal(first.code, 130, first.stderr)
    const second = await cli(['vpc'], env)
    assert.equal(second.code, 0, second.stderr)
    const ec2 = new EC2Client({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})
    const vpcs =
      (await ec2.send(new DescribeVpcsCommand({Filters: [{Name: 'tag:cct:stack', Values: ['cct']}]}))).Vpcs ?? []
    assert.equal(vpcs.length, 1, 'one VPC: the interrupted run left a tagged one that the re-run used')
    assert.deepEqual((await cli(['vpc'], env)).mutating, [])
  })
})
