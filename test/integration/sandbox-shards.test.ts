/**
 * A sharded cache in the sandbox (sandbox/fidelity/elasticache_shards.py, caches.py): a
 * cluster-mode replication group of 3 shards runs as a real redis cluster, reached from
 * functions in its VPC through the configuration endpoint by both helpers of the layer
 * (REDIS_CLUSTER=true), and resharded 3 -> 2 and back to 3 online with every key still readable.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
} from '@aws-sdk/client-ec2'
import {
  CreateCacheSubnetGroupCommand,
  CreateReplicationGroupCommand,
  DescribeCacheClustersCommand,
  DescribeReplicationGroupsCommand,
  ElastiCacheClient,
  ModifyReplicationGroupShardConfigurationCommand,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache'
import {AttachRolePolicyCommand, CreateRoleCommand, IAMClient} from '@aws-sdk/client-iam'
import {CreateFunctionCommand, InvokeCommand, LambdaClient, PublishLayerVersionCommand} from '@aws-sdk/client-lambda'
import {strToU8, zipSync} from 'fflate'

import {buildLayer} from '@cct/cache-runtime/build'
import {sendCommand} from '@cct/cache-runtime/test/redis'

import {REPO_ROOT} from '../../sandbox/launcher.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({redis: false})
const cfg = () => ({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})
const VPC_POLICY = 'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole'

interface CacheEndpoint {
  group_id: string
  node_id: string
  role: string
  kind: string
  hostname: string
  port: number
  client_port: number
  real: string
}

let work: string
let layerZip: Uint8Array
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'cct-shards-'))
  // The layer \`npm run build\` made for the CLI (built here when missing: half a minute).
  const built = join(REPO_ROOT, 'dist/layer/cct-cache-layer.zip')
  layerZip = readFileSync(existsSync(built) ? built : (await buildLayer(join(work, 'dist'))).zipPath)
})
after(() => rmSync(work, {recursive: true, force: true}))

// One handler per runtime: `op` over `keys`, each op run by `containers` caches (as many
// containers would) at once, so one invocation shows what a burst of containers does.
const NODE_HANDLER = `import {createCache} from 'cct-cache'
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
export const handler = async ({op, keys, containers = 1}) => {
  const logs = []
  const caches = Array.from({length: containers}, () => createCache({log: (m) => logs.push(m)}))
  const loads = {}
  const load = (key, value, ms = 0) => async () => { loads[key] = (loads[key] ?? 0) + 1; await sleep(ms); return value }
  try {
    if (op === 'set') { for (const k of keys) await caches[0].set(k, {key: k, by: 'node'}); return {ok: true, breaker: caches[0].breakerState} }
    if (op === 'get') return {values: await Promise.all(keys.map((k) => caches[0].get(k))), breaker: caches[0].breakerState, logs}
    if (op === 'stampede') {
      const results = await Promise.all(keys.flatMap((k) => caches.flatMap((c) => [0, 1].map(() => c.getOrLoad(k, load(k, 'v:' + k, 150))))))
      return {loads, results: [...new Set(results)].sort()}
    }
    if (op === 'invalidate') {
      const out = {}
      for (const k of keys) {
        let release, started
        const gate = new Promise((r) => (release = r))
        const loading = new Promise((r) => (started = r))
        // The loader runs once the miss has read the generation: invalidate during the load.
        const slow = caches[1].getOrLoad(k, async () => { started(); await gate; return 'old' })
        await loading
        await caches[0].invalidate(k)
        release()
        out[k] = {loaded: await slow, after: (await caches[1].get(k)) ?? null, fresh: await caches[1].getOrLoad(k, load(k, 'new'))}
      }
      return out
    }
  } finally { await Promise.all(caches.map((c) => c.close())) }
}
`

const PYTHON_HANDLER = `import threading, time
import cache_helper as ch

LOGS = []

def make():
    return ch._Cache(dict(ch.read_config(), metrics=False), log=LOGS.append)

def handler(event, context):
    op, keys = event["op"], event["keys"]
    caches = [make() for _ in range(event.get("containers", 1))]
    try:
        if op == "get":
            del LOGS[:]
            return {"values": [caches[0].get(k) for k in keys], "breaker": caches[0].breaker.state, "logs": LOGS}
        if op == "stampede":
            loads, lock, results = {}, threading.Lock(), set()
            def load(k):
                with lock:
                    loads[k] = loads.get(k, 0) + 1
                time.sleep(0.15)
                return "v:" + k
            def read(c, k):
                v = c.get_or_load(k, lambda: load(k))
                with lock:
                    results.add(v)
            threads = [threading.Thread(target=read, args=(c, k)) for k in keys for c in caches for _ in range(2)]
            [t.start() for t in threads]
            [t.join() for t in threads]
            return {"loads": loads, "results": sorted(results)}
        if op == "invalidate":
            out = {}
            for k in keys:
                gate, started, loaded = threading.Event(), threading.Event(), []
                def slow():
                    started.set()  # the miss has read the generation: invalidate during the load
                    gate.wait()
                    return "old"
                t = threading.Thread(target=lambda k=k: loaded.append(caches[1].get_or_load(k, slow)))
                t.start()
                started.wait(10)
                caches[0].invalidate([k])
                gate.set()
                t.join()
                out[k] = {"loaded": loaded[0], "after": caches[1].get(k), "fresh": caches[1].get_or_load(k, lambda: "new")}
            return out
    finally:
        for c in caches:
            c.close()
`

const zip = (files: Record<string, string>) =>
  zipSync(Object.fromEntries(Object.entries(files).map(([n, t]) => [n, [strToU8(t), {mtime: new Date('2020-01-01')}]])))

async function fidelity<T>(path: string): Promise<T> {
  const res = await fetch(`${sandbox().endpoint}${path}`)
  assert.ok(res.ok, `${path}: ${res.status}`)
  return (await res.json()) as T
}

/** The slot of a Redis key, asked of any node, and the node group whose Slots hold it. */
async function shardOf(group: ReplicationGroup, key: string, port: number): Promise<string> {
  const slot = Number(await sendCommand('127.0.0.1', port, ['CLUSTER', 'KEYSLOT', key]))
  for (const ng of group.NodeGroups!) {
    for (const range of ng.Slots!.split(',')) {
      const [lo, hi] = range.split('-').map(Number)
      if (slot >= lo! && slot <= hi!) return ng.NodeGroupId!
    }
  }
  throw new Error(`slot ${slot} is in no node group`)
}

const coverage = (group: ReplicationGroup) =>
  group
    .NodeGroups!.flatMap((ng) => ng.Slots!.split(','))
    .reduce((n, r) => n + Number(r.split('-')[1]) - Number(r.split('-')[0]) + 1, 0)

describe('a sharded cache (cluster mode enabled) in the sandbox', () => {
  it('3 shards serve both helpers (a key on each, stampede, invalidation), and 3 -> 2 -> 3 keeps every key readable', async () => {
    const ec2 = new EC2Client(cfg())
    const elasticache = new ElastiCacheClient(cfg())
    const lambda = new LambdaClient(cfg())
    const iam = new IAMClient(cfg())

    const vpcId = (await ec2.send(new CreateVpcCommand({CidrBlock: '10.30.0.0/16'}))).Vpc!.VpcId!
    const subnetId = (
      await ec2.send(new CreateSubnetCommand({VpcId: vpcId, CidrBlock: '10.30.1.0/24', AvailabilityZone: 'us-east-1a'}))
    ).Subnet!.SubnetId!
    const lambdaSg = (await ec2.send(new CreateSecurityGroupCommand({GroupName: 'fn', Description: 'l', VpcId: vpcId})))
      .GroupId!
    const cacheSg = (
      await ec2.send(new CreateSecurityGroupCommand({GroupName: 'cache', Description: 'c', VpcId: vpcId}))
    ).GroupId!
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: cacheSg,
        IpPermissions: [{IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379, UserIdGroupPairs: [{GroupId: lambdaSg}]}],
      }),
    )
    await elasticache.send(
      new CreateCacheSubnetGroupCommand({
        CacheSubnetGroupName: 'shards',
        CacheSubnetGroupDescription: 'd',
        SubnetIds: [subnetId],
      }),
    )

    await elasticache.send(
      new CreateReplicationGroupCommand({
        ReplicationGroupId: 'sharded',
        ReplicationGroupDescription: 'test',
        Engine: 'valkey',
        CacheNodeType: 'cache.t4g.micro',
        NumNodeGroups: 3,
        ReplicasPerNodeGroup: 1,
        AutomaticFailoverEnabled: true,
        CacheSubnetGroupName: 'shards',
        SecurityGroupIds: [cacheSg],
      }),
    )
    const describe = async () =>
      (await elasticache.send(new DescribeReplicationGroupsCommand({ReplicationGroupId: 'sharded'})))
        .ReplicationGroups![0]!
    let group = await describe()
    const endpoint = group.ConfigurationEndpoint?.Address ?? ''
    assert.match(
      endpoint,
      /^clustercfg\.sharded\.[a-z0-9]+\.use1\.cache\.amazonaws\.com$/,
      'a configuration endpoint, as AWS reports it',
    )
    assert.equal(group.ClusterEnabled, true)
    assert.deepEqual(
      group.NodeGroups!.map((ng) => [ng.NodeGroupId, ng.Slots, ng.NodeGroupMembers!.length]),
      [
        ['0001', '0-5460', 2],
        ['0002', '5461-10921', 2],
        ['0003', '10922-16383', 2],
      ],
    )
    const {CacheClusters = []} = await elasticache.send(new DescribeCacheClustersCommand({ShowCacheNodeInfo: true}))
    assert.deepEqual(
      CacheClusters.map((c) => c.CacheNodes![0]!.Endpoint!.Address).sort(),
      ['0001-001', '0001-002', '0002-001', '0002-002', '0003-001', '0003-002'].map(
        (n) => `sharded-${n}.${endpoint.slice('clustercfg.'.length)}`,
      ),
    )
    const endpoints = await fidelity<CacheEndpoint[]>('/cct-fidelity/caches')
    const primaries = endpoints.filter((e) => e.kind === 'node' && e.role === 'primary')
    assert.equal(primaries.length, 3)
    const anyPort = Number(primaries[0]!.real.split(':')[1])
    for (const e of primaries) {
      const info = String(await sendCommand('127.0.0.1', Number(e.real.split(':')[1]), ['CLUSTER', 'INFO']))
      assert.match(info, /cluster_state:ok/)
      assert.match(info, /cluster_known_nodes:6/)
    }

    const {Role} = await iam.send(
      new CreateRoleCommand({
        RoleName: 'shards-role',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}],
        }),
      }),
    )
    await iam.send(new AttachRolePolicyCommand({RoleName: 'shards-role', PolicyArn: VPC_POLICY}))
    const layer = await lambda.send(
      new PublishLayerVersionCommand({LayerName: 'cct-cache', Content: {ZipFile: layerZip}}),
    )
    const common = {
      Role: Role!.Arn!,
      Timeout: 20,
      MemorySize: 256,
      Layers: [layer.LayerVersionArn!],
      VpcConfig: {SubnetIds: [subnetId], SecurityGroupIds: [lambdaSg]},
      Environment: {
        Variables: {REDIS_HOST: endpoint, REDIS_PORT: '6379', REDIS_CLUSTER: 'true', CACHE_METRICS: 'false'},
      },
    }
    await lambda.send(
      new CreateFunctionCommand({
        ...common,
        FunctionName: 'node-fn',
        Runtime: 'nodejs22.x',
        Handler: 'index.handler',
        Code: {ZipFile: zip({'index.mjs': NODE_HANDLER})},
      }),
    )
    await lambda.send(
      new CreateFunctionCommand({
        ...common,
        FunctionName: 'py-fn',
        Runtime: 'python3.12',
        Handler: 'index.handler',
        Code: {ZipFile: zip({'index.py': PYTHON_HANDLER})},
      }),
    )
    const invoke = async (fn: string, event: object): Promise<any> => {
      const out = await lambda.send(new InvokeCommand({FunctionName: fn, Payload: strToU8(JSON.stringify(event))}))
      const text = Buffer.from(out.Payload ?? []).toString()
      assert.equal(out.FunctionError, undefined, text)
      return JSON.parse(text)
    }

    /** Every key's value and the breaker's state; what the helper logged, if anything, in the message of a failure. */
    const read = async (fn: string, list: string[]) => {
      const {logs, ...rest} = await invoke(fn, {op: 'get', keys: list})
      assert.deepEqual(logs, [], `${fn}: ${logs.join('; ')}`)
      return rest
    }
    /**
     * A read while slots move: the values must be right, but a command that outlives the
     * helper's 300 ms budget on a loaded machine may be served from the source (fail-open,
     * which is the helper's contract); counted, and the reads after the move must be clean.
     */
    let failedOpen = 0
    const readMoving = async (fn: string, list: string[]) => {
      const {logs, values} = await invoke(fn, {op: 'get', keys: list})
      const other = (logs as string[]).filter((l) => !/Redis unavailable \(Command timed out\)/.test(l))
      assert.deepEqual(other, [], `${fn}: ${other.join('; ')}`)
      failedOpen += (logs as string[]).length
      if (logs.length) console.log(`# ${fn}: served from the source while slots moved (${failedOpen} so far)`)
      return {values, breaker: 'closed'}
    }
    /** After a move: a clean read once a breaker the move opened has closed again (it retries in the background). */
    const readSettled = async (fn: string, list: string[]) => {
      for (let i = 0; ; i++) {
        const {logs, ...rest} = await invoke(fn, {op: 'get', keys: list})
        if ((logs.length === 0 && rest.breaker === 'closed') || i >= 40) {
          assert.deepEqual(logs, [], `${fn}: ${logs.join('; ')}`)
          return rest
        }
        await sleep(250)
      }
    }

    // 30 keys written by Node land on all three shards; Python reads every one.
    const keys = Array.from({length: 30}, (_, i) => `article:${i}`)
    assert.deepEqual(await invoke('node-fn', {op: 'set', keys}), {ok: true, breaker: 'closed'})
    const shards = new Map<string, string[]>()
    for (const key of keys) {
      const shard = await shardOf(group, `cct:v1:{${key}}`, anyPort)
      shards.set(shard, [...(shards.get(shard) ?? []), key])
    }
    assert.deepEqual([...shards.keys()].sort(), ['0001', '0002', '0003'], 'a key on each shard')
    const written = keys.map((key) => ({key, by: 'node'}))
    assert.deepEqual(await read('py-fn', keys), {values: written, breaker: 'closed'})

    // One key per shard: a stampede of 6 containers loads it once; an invalidation during a
    // load stops its write-back. Both helpers.
    const perShard = [...shards.values()].map((list) => list[0]!.replace('article', 'hot'))
    for (const fn of ['node-fn', 'py-fn']) {
      const keysOf = perShard.map((k) => `${fn}:${k}`)
      const stampede = await invoke(fn, {op: 'stampede', keys: keysOf, containers: 6})
      assert.deepEqual(stampede.loads, Object.fromEntries(keysOf.map((k) => [k, 1])), fn)
      assert.deepEqual(stampede.results, keysOf.map((k) => `v:${k}`).sort(), fn)
      const cold = perShard.map((k) => `${fn}:${k.replace('hot', 'video')}`)
      const invalidated = await invoke(fn, {op: 'invalidate', keys: cold, containers: 2})
      for (const k of cold) assert.deepEqual(invalidated[k], {loaded: 'old', after: null, fresh: 'new'}, `${fn} ${k}`)
    }

    // 3 -> 2 shards, online: the group is modifying while shard 0003's slots move, and
    // every key stays readable meanwhile and after.
    const modified = await elasticache.send(
      new ModifyReplicationGroupShardConfigurationCommand({
        ReplicationGroupId: 'sharded',
        NodeGroupCount: 2,
        NodeGroupsToRemove: ['0003'],
        ApplyImmediately: true,
      }),
    )
    assert.equal(modified.ReplicationGroup!.Status, 'modifying')
    let reads = 0
    for (let i = 0; ; i++) {
      const fn = i % 2 ? 'py-fn' : 'node-fn'
      assert.deepEqual(await readMoving(fn, keys), {values: written, breaker: 'closed'}, `read ${i} while resharding`)
      reads += 1
      group = await describe()
      if (group.Status === 'available') break
      assert.ok(i < 200, 'resharding ends')
      await sleep(50)
    }
    // Shard 0003's slots move as two contiguous ranges, as AWS moves them: a slot map dealt
    // one slot at a time has thousands of ranges, and a CLUSTER SLOTS reply too large to read
    // within a client's slots refresh budget (ioredis: 'None of startup nodes is available').
    assert.deepEqual(
      group.NodeGroups!.map((ng) => [ng.NodeGroupId, ng.Slots]),
      [
        ['0001', '0-5460,10922-13652'],
        ['0002', '5461-10921,13653-16383'],
      ],
    )
    assert.equal(coverage(group), 16384, 'every slot has a shard')
    assert.ok(reads >= 1)
    for (const fn of ['node-fn', 'py-fn'])
      assert.deepEqual(await readSettled(fn, keys), {values: written, breaker: 'closed'}, fn)
    const after = await fidelity<CacheEndpoint[]>('/cct-fidelity/caches')
    assert.deepEqual(
      after
        .filter((e) => e.kind === 'node')
        .map((e) => e.node_id)
        .sort(),
      ['sharded-0001-001', 'sharded-0001-002', 'sharded-0002-001', 'sharded-0002-002'],
    )
    const survivor = Number(after[0]!.real.split(':')[1])
    for (const key of keys) assert.notEqual(await shardOf(group, `cct:v1:{${key}}`, survivor), '0003')
    const slotMap = (await sendCommand('127.0.0.1', survivor, ['CLUSTER', 'SLOTS'])) as unknown[]
    assert.equal(slotMap.length, 4, 'CLUSTER SLOTS: one entry per contiguous range')

    // 2 -> 3 shards, online: a new node group (as many nodes as the others) starts, joins and
    // takes its even share from the top of each shard's ranges; every key stays readable.
    const grown = await elasticache.send(
      new ModifyReplicationGroupShardConfigurationCommand({
        ReplicationGroupId: 'sharded',
        NodeGroupCount: 3,
        ApplyImmediately: true,
      }),
    )
    assert.equal(grown.ReplicationGroup!.Status, 'modifying')
    for (let i = 0; ; i++) {
      const fn = i % 2 ? 'py-fn' : 'node-fn'
      assert.deepEqual(
        await readMoving(fn, keys),
        {values: written, breaker: 'closed'},
        `read ${i} while adding a shard`,
      )
      group = await describe()
      if (group.Status === 'available') break
      assert.ok(i < 200, 'adding a shard ends')
      await sleep(50)
    }
    assert.deepEqual(
      group.NodeGroups!.map((ng) => [ng.NodeGroupId, ng.Slots, ng.NodeGroupMembers!.length]),
      [
        ['0001', '0-5460', 2],
        ['0002', '5461-10921', 2],
        // Both shards' surplus tops, 10922-13652 and 13653-16383: one contiguous range.
        ['0003', '10922-16383', 2],
      ],
    )
    assert.equal(coverage(group), 16384, 'every slot has a shard')
    for (const fn of ['node-fn', 'py-fn'])
      assert.deepEqual(await readSettled(fn, keys), {values: written, breaker: 'closed'}, fn)
    const moved = new Set<string>()
    for (const key of keys) moved.add(await shardOf(group, `cct:v1:{${key}}`, survivor))
    assert.ok(moved.has('0003'), 'some keys now live on the new shard')
  })
})
