/**
 * Issue #12 item 14: a reply lost after the change happened (the sandbox made the resource,
 * the client saw a 500) on each create setup makes. A blind retry of a create with no
 * idempotency token makes a second one (and cct can no longer undo its own stack), and a
 * retry of a name-keyed create is refused as already existing; cct must end the same run
 * with exactly one of each, converged, and rollback must leave the account as it began.
 *
 * Every create loses its first reply in one setup run (one setup and one rollback for all
 * of them, cheap enough for the suite); CCT_LOST_REPLY_EACH=1 gives each create a run of its
 * own (one case per create, on the same sandbox, reset between cases), to tell which fails.
 */
import assert from 'node:assert/strict'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {accountSnapshot} from '../support/account.js'
import {cli} from '../support/cct.js'
import {FaultProxy, type Fate, type ProxiedCall} from '../support/fault-proxy.js'
import {differences} from '../support/kill-points.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({
  seed: true,
  redis: false,
  fidelity: {replicationGroupCreateSeconds: 1, replicationGroupDeleteSeconds: 1, eniLingerSeconds: 1},
})

/** `--alarms` with an email: the topic, its subscription and the alarms are creates too. */
const SETUP = ['setup', '--yes', '--nat', '--alarms', 'ops@example.com']

/** Each create setup makes, and how its request is told apart from the others of its kind. */
const CREATES: {name: string; operation: string; request?: RegExp}[] = [
  {name: 'CreateVpc', operation: 'CreateVpc'},
  {name: 'CreateSubnet (private)', operation: 'CreateSubnet', request: /^(?!.*public-subnet)/s},
  {name: 'CreateSubnet (NAT public)', operation: 'CreateSubnet', request: /public-subnet/},
  {name: 'CreateRouteTable (private)', operation: 'CreateRouteTable', request: /^(?!.*public-rt)/s},
  {name: 'CreateRouteTable (public)', operation: 'CreateRouteTable', request: /public-rt/},
  {name: 'CreateRoute', operation: 'CreateRoute'},
  {name: 'AssociateRouteTable', operation: 'AssociateRouteTable'},
  {name: 'CreateVpcEndpoint', operation: 'CreateVpcEndpoint'},
  {name: 'CreateInternetGateway', operation: 'CreateInternetGateway'},
  {name: 'AttachInternetGateway', operation: 'AttachInternetGateway'},
  {name: 'AllocateAddress', operation: 'AllocateAddress'},
  {name: 'CreateNatGateway', operation: 'CreateNatGateway'},
  {name: 'CreateSecurityGroup (functions)', operation: 'CreateSecurityGroup', request: /lambda-sg/},
  {name: 'CreateSecurityGroup (cache)', operation: 'CreateSecurityGroup', request: /cache-sg/},
  {name: 'AuthorizeSecurityGroupIngress', operation: 'AuthorizeSecurityGroupIngress'},
  {name: 'CreateCacheSubnetGroup', operation: 'CreateCacheSubnetGroup'},
  {name: 'CreateReplicationGroup', operation: 'CreateReplicationGroup'},
  {name: 'CreateRole (probe)', operation: 'CreateRole'},
  {name: 'CreateFunction (probe)', operation: 'POST/2015-03-31/functions'},
  {name: 'PublishLayerVersion', operation: 'POST/2018-10-31/layers/cct-cache-layer/versions'},
  {name: 'CreateTopic', operation: 'CreateTopic'},
  {name: 'Subscribe', operation: 'Subscribe'},
  {name: 'PutMetricAlarm', operation: 'PutMetricAlarm'},
  {name: 'PutDashboard', operation: 'PutDashboard'},
]

const CASES = process.env.CCT_LOST_REPLY_EACH ? CREATES.map((c) => [c]) : [CREATES]

let proxy: FaultProxy | undefined
after(() => proxy?.stop())

async function run(args: string[], config: string, decide?: (call: ProxiedCall) => Fate) {
  proxy ??= await new FaultProxy(sandbox().endpoint).start()
  const p = proxy
  p.reset(decide)
  return cli(args, {...sandbox().env, AWS_ENDPOINT_URL: p.url, CCT_CONFIG: config}, {onSpawn: (c) => (p.child = c)})
}

/** How many of each kind of thing the account has (ids differ from run to run, counts must not). */
function shape(snapshot: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(snapshot).map(([kind, value]) => [
      kind,
      Array.isArray(value) ? value.length : Object.keys(value as object).sort(),
    ]),
  )
}

const freshConfig = () => join(mkdtempSync(join(tmpdir(), 'cct-lost-')), 'cct.json')

describe('a create whose reply is lost (the change made, a 500 returned)', () => {
  let converged: Record<string, unknown> | undefined

  it('without faults: what setup leaves (the shape every case must match), and rollback restores it all', async () => {
    const config = freshConfig()
    const before = await accountSnapshot(sandbox())
    const setup = await run(SETUP, config)
    assert.equal(setup.code, 0, setup.stderr)
    const made = new Set(proxy!.calls.filter((c) => c.mutating).map((c) => c.operation))
    const missing = CREATES.filter((c) => !made.has(c.operation)).map((c) => c.name)
    assert.deepEqual(missing, [], 'setup makes every create the cases lose')
    converged = shape(await accountSnapshot(sandbox()))
    const rollback = await run(['rollback', '--yes'], config)
    assert.equal(rollback.code, 0, rollback.stderr)
    assert.deepEqual(differences(before, await accountSnapshot(sandbox())), [])
  })

  for (const creates of CASES) {
    const title = creates.length === 1 ? creates[0]!.name : `every create (${creates.length}) at once`
    it(`${title}: setup ends with one of each, converged; rollback restores the account`, async () => {
      assert.ok(converged, 'the fault-free run came first')
      const config = freshConfig()
      const before = await accountSnapshot(sandbox())
      const lost = new Set<string>()
      const setup = await run(SETUP, config, (call) => {
        const create = creates.find(
          (c) => c.operation === call.operation && (c.request?.test(call.request) ?? true) && !lost.has(c.name),
        )
        if (!call.mutating || !create) return 'relay'
        lost.add(create.name)
        return 'lose'
      })
      assert.deepEqual(
        creates.filter((c) => !lost.has(c.name)).map((c) => c.name),
        [],
        'each reply was lost once',
      )
      assert.equal(setup.code, 0, `setup with lost replies: ${setup.stderr}`)
      assert.deepEqual(shape(await accountSnapshot(sandbox())), converged, 'one of each, nothing made twice')
      const again = await run(SETUP, config)
      assert.equal(again.code, 0, again.stderr)
      assert.deepEqual(
        again.mutating.map((c) => c.operation),
        [],
        'converged: setup again changes nothing',
      )
      const rollback = await run(['rollback', '--yes'], config)
      assert.equal(rollback.code, 0, rollback.stderr)
      assert.deepEqual(differences(before, await accountSnapshot(sandbox())), [])
    })
  }
})
