/**
 * The function steps (attach, env, layer-attach) and the cluster: plans as operations,
 * the update an operation makes to a function as it is at write time, and rollback's
 * restore logic, which keeps what someone changed since.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {pending} from '../../src/engine/step.js'
import {attachStep, planFunction, restoredVpc, vpcUpdate} from '../../src/steps/attach.js'
import {clusterStep} from '../../src/steps/cluster.js'
import {AUTO_CACHE_WRAPPER, envStep, restoredEnv} from '../../src/steps/env.js'
import {desiredLayers, layerAttachStep} from '../../src/steps/layer-attach.js'
import {
  attachedFunction,
  attachState,
  clusterState,
  envState,
  functionInfo,
  planContext,
  recordTags,
  REDIS_ENV,
  roleInfo,
} from '../support/states.js'

const ops = (changes: {op: unknown}[]) => changes.map((c) => c.op)
const ctx = planContext()
const planned = (...fns: ReturnType<typeof functionInfo>[]) =>
  fns.map((fn) => planFunction(fn, 'vpc-1', ['subnet-a', 'subnet-b'], 'sg-lambda', ctx))

describe('attach', () => {
  it('a function outside any VPC moves into the stack subnets with the lambda group; its role gets the ENI policy when it lacks one', () => {
    const fn = functionInfo()
    const plan = attachStep.plan(attachState({functions: planned(fn), roles: [roleInfo({canCreateEni: false})]}), ctx)
    assert.deepEqual(ops(plan), [
      {kind: 'attach-role-policy', roleName: 'demo-role', roleArn: 'arn:aws:iam::123456789012:role/demo-role'},
      {
        kind: 'move-into-vpc',
        functionName: 'articles-api',
        subnetIds: ['subnet-a', 'subnet-b'],
        securityGroupIds: ['sg-lambda'],
      },
    ])
    assert.deepEqual(
      plan.map((c) => c.kind),
      ['missing', 'missing'],
    )
  })

  it('a function cct attached whose lambda group was removed: drift, its groups as they are and as needed; the operation adds the group to whatever it has at write time', () => {
    const fn = attachedFunction({securityGroupIds: ['sg-other']})
    const [change] = attachStep.plan(attachState({functions: planned(fn)}), ctx)
    assert.equal(change!.kind, 'drift')
    assert.equal(
      change!.detail,
      'security groups differ: has sg-other, needs sg-lambda too (keeps its subnets and groups)',
    )
    assert.deepEqual(change!.op, {kind: 'add-security-group', functionName: 'articles-api', groupId: 'sg-lambda'})
    // Someone added sg-new between plan and write: kept.
    const now = {...fn, securityGroupIds: ['sg-other', 'sg-new']}
    assert.deepEqual(vpcUpdate(now, {kind: 'add-security-group', functionName: 'articles-api', groupId: 'sg-lambda'}), {
      VpcConfig: {SubnetIds: ['subnet-a', 'subnet-b'], SecurityGroupIds: ['sg-other', 'sg-new', 'sg-lambda']},
    })
    assert.equal(
      vpcUpdate(
        {...fn, securityGroupIds: ['sg-lambda']},
        {kind: 'add-security-group', functionName: 'articles-api', groupId: 'sg-lambda'},
      ),
      undefined,
      'already so: no write',
    )
  })

  it('attached and unchanged: nothing to do, and the function is listed', () => {
    const state = attachState({functions: planned(attachedFunction())})
    assert.deepEqual(attachStep.plan(state, ctx), [])
    assert.deepEqual(attachStep.resources(state, ctx), [{resource: 'function-vpc', name: 'articles-api'}])
  })

  it('a function in another VPC is refused without --force, moved with it', () => {
    const fn = functionInfo({vpcId: 'vpc-other', subnetIds: ['subnet-x'], securityGroupIds: ['sg-x']})
    assert.throws(() => planned(fn), /articles-api is in vpc-other, not the stack's VPC vpc-1/)
    const forced = planFunction(fn, 'vpc-1', ['subnet-a', 'subnet-b'], 'sg-lambda', planContext({force: true}))
    assert.deepEqual(attachStep.plan(attachState({functions: [forced]}), ctx)[0]!.op, {
      kind: 'move-into-vpc',
      functionName: 'articles-api',
      subnetIds: ['subnet-a', 'subnet-b'],
      securityGroupIds: ['sg-lambda'],
    })
  })

  it('destroy restores every recorded function and detaches only the policy cct attached', () => {
    const fn = attachedFunction()
    const role = roleInfo({tags: {'cct:cct:role-policy': 'AWSLambdaVPCAccessExecutionRole'}})
    const plan = attachStep.destroyPlan(
      attachState({recorded: [fn], roles: [role, roleInfo({name: 'theirs', arn: 'arn:aws:iam::1:role/theirs'})]}),
      planContext({}, 'unplan'),
    )
    assert.deepEqual(ops(plan), [
      {kind: 'restore-vpc-config', functionName: 'articles-api'},
      {kind: 'detach-role-policy', roleName: 'demo-role', roleArn: role.arn},
    ])
    assert.equal(plan[0]!.detail, 'out of the VPC')
  })

  it('restore: out of the VPC if it was outside; only the lambda group comes off if it has moved since; a --force move goes back', () => {
    const stack = {vpcId: 'vpc-1', subnetIds: ['subnet-a', 'subnet-b'], lambdaGroupId: 'sg-lambda'}
    const outside = {subnetIds: [], securityGroupIds: []}
    assert.deepEqual(restoredVpc(attachedFunction(), outside, stack), {SubnetIds: [], SecurityGroupIds: []})
    assert.deepEqual(
      restoredVpc(attachedFunction({subnetIds: ['subnet-z'], securityGroupIds: ['sg-lambda', 'sg-z']}), outside, stack),
      {SubnetIds: ['subnet-z'], SecurityGroupIds: ['sg-z']},
    )
    assert.equal(restoredVpc(functionInfo(), outside, stack), undefined, 'already outside: nothing to do')
    const moved = {vpcId: 'vpc-other', subnetIds: ['subnet-x'], securityGroupIds: ['sg-x']}
    assert.deepEqual(restoredVpc(attachedFunction(), moved, stack), {
      SubnetIds: ['subnet-x'],
      SecurityGroupIds: ['sg-x'],
    })
    const inTheirVpc = {vpcId: 'vpc-1', subnetIds: ['subnet-a'], securityGroupIds: ['sg-theirs']}
    assert.deepEqual(restoredVpc(attachedFunction({securityGroupIds: ['sg-theirs', 'sg-lambda']}), inTheirVpc, stack), {
      SubnetIds: ['subnet-a', 'subnet-b'],
      SecurityGroupIds: ['sg-theirs'],
    })
  })
})

describe('env', () => {
  it('a function without the variables: set-env with every variable cct manages; missing, not drift', () => {
    const [change] = envStep.plan(envState({functions: [functionInfo()]}), ctx)
    assert.deepEqual(change!.op, {kind: 'set-env', functionName: 'articles-api', vars: REDIS_ENV})
    assert.equal(change!.kind, 'missing')
  })

  it('REDIS_PORT changed by hand: drift, as it is and as needed; the operation still carries every variable (the record keeps what each was)', () => {
    const fn = functionInfo({env: {TABLE_NAME: 'articles', ...REDIS_ENV, REDIS_PORT: '7000'}})
    const [change] = envStep.plan(envState({functions: [fn]}), ctx)
    assert.equal(change!.kind, 'drift')
    assert.equal(change!.detail, 'REDIS_PORT is 7000, needs 6379 (other variables kept)')
    assert.deepEqual(change!.op, {kind: 'set-env', functionName: 'articles-api', vars: REDIS_ENV})
  })

  it('converged: nothing to do; a pending endpoint reads as the new endpoint', () => {
    assert.deepEqual(envStep.plan(envState({functions: [functionInfo({env: {...REDIS_ENV}})]}), ctx), [])
    const [change] = envStep.plan(
      envState({desired: {...REDIS_ENV, REDIS_HOST: pending('endpoint')}, functions: [functionInfo()]}),
      ctx,
    )
    assert.match(change!.detail!, /^REDIS_HOST=the new endpoint; REDIS_PORT=6379; REDIS_TLS=true/)
  })

  it("auto-cache on chains the function's own wrapper; off puts back what cct changed", () => {
    const theirs = functionInfo({env: {...REDIS_ENV, AWS_LAMBDA_EXEC_WRAPPER: '/opt/theirs'}})
    const [on] = envStep.plan(envState({autoCache: true, functions: [theirs]}), ctx)
    assert.deepEqual(on!.op, {
      kind: 'set-env',
      functionName: 'articles-api',
      vars: {
        ...REDIS_ENV,
        AWS_LAMBDA_EXEC_WRAPPER: AUTO_CACHE_WRAPPER,
        CCT_NEXT_EXEC_WRAPPER: '/opt/theirs',
        CCT_AUTO_CACHE_TTLS: null,
      },
    })
    const record = {
      AWS_LAMBDA_EXEC_WRAPPER: {before: '/opt/theirs', set: AUTO_CACHE_WRAPPER},
      CCT_NEXT_EXEC_WRAPPER: {before: null, set: '/opt/theirs'},
    }
    const wrapped = functionInfo({
      env: {...REDIS_ENV, AWS_LAMBDA_EXEC_WRAPPER: AUTO_CACHE_WRAPPER, CCT_NEXT_EXEC_WRAPPER: '/opt/theirs'},
      tags: recordTags('env', record),
    })
    const [off] = envStep.plan(envState({autoCache: false, functions: [wrapped]}), ctx)
    assert.deepEqual(off!.op, {
      kind: 'set-env',
      functionName: 'articles-api',
      vars: {...REDIS_ENV, AWS_LAMBDA_EXEC_WRAPPER: '/opt/theirs', CCT_NEXT_EXEC_WRAPPER: null},
    })
  })

  it('restore puts back what cct set and keeps what someone changed since', () => {
    const record = {
      REDIS_HOST: {before: null, set: 'h'},
      REDIS_PORT: {before: '1234', set: '6379'},
      REDIS_TLS: {before: null, set: 'true'},
    }
    assert.deepEqual(restoredEnv({TABLE_NAME: 't', REDIS_HOST: 'h', REDIS_PORT: '6379', REDIS_TLS: 'false'}, record), {
      Environment: {Variables: {TABLE_NAME: 't', REDIS_PORT: '1234', REDIS_TLS: 'false'}},
    })
    assert.equal(restoredEnv({TABLE_NAME: 't'}, record), undefined, 'nothing of cct left: no write')
  })

  it("an endpoint recorded ahead of the cache (pending) is cct's when it is the stack's endpoint now", () => {
    const record = {REDIS_HOST: {before: null, set: 'pending:endpoint'}, REDIS_PORT: {before: null, set: '6379'}}
    const env = {TABLE_NAME: 't', REDIS_HOST: 'master.cct.example', REDIS_PORT: '6379'}
    assert.deepEqual(restoredEnv(env, record, 'master.cct.example'), {Environment: {Variables: {TABLE_NAME: 't'}}})
    assert.deepEqual(
      restoredEnv({...env, REDIS_HOST: 'theirs.example'}, record, 'master.cct.example'),
      {Environment: {Variables: {TABLE_NAME: 't', REDIS_HOST: 'theirs.example'}}},
      'a host someone set since is theirs',
    )
    assert.deepEqual(
      restoredEnv(env, record, 'pending:endpoint'),
      {Environment: {Variables: {TABLE_NAME: 't', REDIS_HOST: 'master.cct.example'}}},
      "no cache left to say which host is cct's: the host stays",
    )
    assert.equal(restoredEnv({TABLE_NAME: 't'}, record, 'master.cct.example'), undefined, 'cut before the update')
  })
})

describe('layer-attach', () => {
  const ours = (v: number) => `arn:aws:lambda:us-east-1:123456789012:layer:cct-cache-layer:${v}`
  const other = 'arn:aws:lambda:us-east-1:123456789012:layer:theirs:3'

  it("replaces an older version of cct's layer in place, appends otherwise, and refuses a sixth layer", () => {
    assert.deepEqual(desiredLayers(functionInfo({layers: [other, ours(1)]}), ours(2), ctx), [other, ours(2)])
    assert.deepEqual(desiredLayers(functionInfo({layers: [other]}), ours(2), ctx), [other, ours(2)])
    assert.equal(desiredLayers(functionInfo({layers: [ours(2)]}), ours(2), ctx), undefined)
    assert.throws(
      () => desiredLayers(functionInfo({layers: [1, 2, 3, 4, 5].map((i) => `${other}${i}`)}), ours(2), ctx),
      /already has 5 layers; Lambda allows 5/,
    )
  })

  it('plans set-layer with the version to put on; drift names the version it has', () => {
    const fn = functionInfo({layers: [ours(1)]})
    const [change] = layerAttachStep.plan(
      {layerVersionArn: ours(2), functions: [{fn, target: desiredLayers(fn, ours(2), ctx)}]},
      ctx,
    )
    assert.deepEqual(change!.op, {kind: 'set-layer', functionName: 'articles-api', layerVersionArn: ours(2)})
    assert.equal(change!.kind, 'drift')
    assert.match(change!.detail!, /^has cct-cache-layer:1, needs cct-cache-layer:2/)
  })
})

describe('cluster', () => {
  it('from nothing: one create with what was asked; a group being deleted is waited for, then created', () => {
    const [create] = clusterStep.plan(
      clusterState(null),
      planContext({replicas: 1, engine: 'valkey', nodeType: 'cache.t4g.micro'}),
    )
    assert.deepEqual(create!.op, {
      kind: 'create-replication-group',
      id: 'cct-cache',
      engine: 'valkey',
      engineVersion: '8.0',
      nodeType: 'cache.t4g.micro',
      replicas: 1,
      shards: 1,
      tls: true,
      subnetGroup: 'cct-cache-subnet-group',
      securityGroupId: 'sg-cache',
      zones: ['us-east-1a', 'us-east-1b'],
      afterDeletion: false,
    })
    const [wait] = clusterStep.plan(clusterState({status: 'deleting'}), ctx)
    assert.equal(wait!.action, 'wait')
    assert.equal((wait!.op as {afterDeletion: boolean}).afterDeletion, true)
  })

  it('--shards 3: a cluster-mode create of 3 shards, the cost over all 6 nodes', () => {
    const [create] = clusterStep.plan(
      clusterState(null, {cost: {monthlyUsd: 74.46, note: 'list price'}}),
      planContext({shards: 3, replicas: 1}),
    )
    assert.equal((create!.op as {shards: number}).shards, 3)
    assert.deepEqual((create!.op as {zones: string[]}).zones, [])
    assert.match(create!.detail ?? '', /3 shards x 2 nodes \(cache\.t3\.micro x6\), cluster mode/)
  })

  it('fewer shards reshard online, removing the highest-numbered groups', () => {
    const sharded = {clusterMode: true, nodeGroups: ['0001', '0002', '0003'], nodes: 3, host: 'clustercfg.x'}
    assert.deepEqual(ops(clusterStep.plan(clusterState(sharded), planContext({shards: 1}))), [
      {kind: 'reshard', id: 'cct-cache', from: 3, to: 1, remove: ['0002', '0003']},
    ])
    assert.deepEqual(ops(clusterStep.plan(clusterState(sharded), planContext({shards: 3}))), [])
  })

  it('1 -> N moves the group to cluster mode (one-way): compatible, each helper, enabled, then the reshard', () => {
    const oneShard = {nodes: 2, members: ['cct-cache-001', 'cct-cache-002'], multiAz: true, failover: true}
    const helpers = [
      functionInfo({name: 'a', env: {REDIS_HOST: 'master.cct-cache.example', REDIS_PORT: '6379'}}),
      functionInfo({name: 'b', env: {REDIS_HOST: 'master.cct-cache.example', REDIS_PORT: '6379'}}),
    ]
    const plan = clusterStep.plan(
      clusterState(oneShard, {helpers, cost: {monthlyUsd: 49.64, note: '4 nodes, list price'}}),
      planContext({shards: 3, replicas: 1}),
    )
    const vars = {REDIS_HOST: 'pending:configuration endpoint', REDIS_CLUSTER: 'true'}
    assert.deepEqual(ops(plan), [
      {kind: 'set-cluster-mode', id: 'cct-cache', mode: 'compatible'},
      {kind: 'move-helper', id: 'cct-cache', functionName: 'a', vars},
      {kind: 'move-helper', id: 'cct-cache', functionName: 'b', vars},
      {kind: 'set-cluster-mode', id: 'cct-cache', mode: 'enabled'},
      {kind: 'reshard', id: 'cct-cache', from: 1, to: 3, remove: []},
    ])
    assert.match(plan[0]!.oneWay ?? '', /cannot be turned off again/)
    assert.equal(plan.at(-1)!.cost, 'about $49.64/month (4 nodes, list price)')

    // A run cut short when compatible: the helper already moved is not touched again, and the move is finished.
    const compatible = {...oneShard, mode: 'compatible' as const, configurationEndpoint: 'clustercfg.cct-cache.example'}
    const moved = {...helpers[0]!, env: {REDIS_HOST: 'clustercfg.cct-cache.example', REDIS_CLUSTER: 'true'}}
    assert.deepEqual(
      ops(
        clusterStep.plan(
          clusterState(compatible, {helpers: [moved, helpers[1]!]}),
          planContext({shards: 3, replicas: 1}),
        ),
      ),
      [
        {
          kind: 'move-helper',
          id: 'cct-cache',
          functionName: 'b',
          vars: {REDIS_HOST: 'clustercfg.cct-cache.example', REDIS_CLUSTER: 'true'},
        },
        {kind: 'set-cluster-mode', id: 'cct-cache', mode: 'enabled'},
        {kind: 'reshard', id: 'cct-cache', from: 1, to: 3, remove: []},
      ],
    )
    // No replica yet: added first with failover, as ElastiCache requires; none asked is refused.
    assert.deepEqual(ops(clusterStep.plan(clusterState({}), planContext({shards: 2, replicas: 1}))).slice(0, 3), [
      {kind: 'set-replicas', id: 'cct-cache', from: 0, to: 1},
      {kind: 'set-failover', id: 'cct-cache', enabled: true},
      {kind: 'set-cluster-mode', id: 'cct-cache', mode: 'compatible'},
    ])
    assert.throws(
      () => clusterStep.plan(clusterState({}), planContext({shards: 2})),
      (e: Error & {exitCode?: number; hint?: string}) =>
        /automatic failover and at least one replica/.test(e.message) && /--replicas 1/.test(e.hint ?? ''),
    )
  })

  it('what ElastiCache would not move to cluster mode is refused in the plan, with the way forward', () => {
    const fit = {nodes: 2, failover: true, multiAz: true}
    const refused = (group: object, message: RegExp, hint: RegExp) =>
      assert.throws(
        () => clusterStep.plan(clusterState({...fit, ...group}), planContext({shards: 3, replicas: 1})),
        (e: Error & {exitCode?: number; hint?: string}) =>
          message.test(e.message) && hint.test(e.hint ?? '') && e.exitCode === 5,
      )
    refused(
      {engineVersion: '6.2'},
      /runs Redis OSS 6\.2; ElastiCache moves a group to cluster mode .* from Redis OSS 7\.0/,
      /--engine-version 7\.1/,
    )
    refused({engine: 'valkey', engineVersion: '7.1'}, /runs Valkey 7\.1/, /--engine-version 8\.0/)
    refused({dataTiering: true}, /data tiering/, /--stack/)
    refused({parameterGroup: 'my-params'}, /parameter group my-params/, /default parameter group/)
  })

  it('more shards reshard online: one operation, the added nodes priced, limits checked before any call', () => {
    const sharded = {clusterMode: true, nodeGroups: ['0001', '0002'], replicasPerShard: 1, engine: 'valkey'}
    const plan = clusterStep.plan(
      clusterState(sharded, {cost: {monthlyUsd: 24.82, note: '2 nodes, list price'}}),
      planContext({shards: 3, replicas: 1}),
    )
    assert.deepEqual(ops(plan), [{kind: 'reshard', id: 'cct-cache', from: 2, to: 3, remove: []}])
    assert.match(plan[0]!.detail ?? '', /2 -> 3 shards, 1 new shard of 2 nodes \(2 nodes in all\)/)
    assert.equal(plan[0]!.cost, 'about $24.82/month (2 nodes, list price)')

    // 250 shards x 3 nodes: more than the 500 nodes a cluster-mode group can have (usage, exit 2).
    assert.throws(
      () => clusterStep.plan(clusterState({...sharded, replicasPerShard: 2}), planContext({shards: 250, replicas: 2})),
      (e: Error & {exitCode?: number; hint?: string}) =>
        /--shards 250 would make cct-cache 750 nodes \(250 shards x 3\); a cluster-mode group has at most 500/.test(
          e.message,
        ) &&
        e.exitCode === 2 &&
        /at most --shards 166/.test(e.hint ?? ''),
    )
    // Redis OSS before 5.0.6 stops at 90 nodes; before 3.2.10 it cannot reshard online at all.
    const oldRedis = {...sharded, engine: 'redis', engineVersion: '4.0.10', replicasPerShard: 0}
    assert.throws(() => clusterStep.plan(clusterState(oldRedis), planContext({shards: 91})), /at most 90/)
    const quota = planContext({shards: 100})
    clusterStep.plan(clusterState({...sharded, replicasPerShard: 0}), quota)
    assert.match(quota.notes.join('\n'), /100 nodes: ElastiCache allows 90 per cluster unless .*quota was raised/)
    assert.throws(
      () => clusterStep.plan(clusterState({...oldRedis, engineVersion: '3.2.6'}), planContext({shards: 3})),
      /Redis OSS 3\.2\.6; ElastiCache reshards online from 3\.2\.10/,
    )
  })

  it('a group that ended create-failed is deleted and created again: it holds nothing, and waiting on it would never end', () => {
    const plan = clusterStep.plan(clusterState({status: 'create-failed'}), ctx)
    assert.deepEqual(
      plan.map((c) => c.op.kind),
      ['delete-failed-group', 'create-replication-group'],
    )
    assert.equal((plan[1]!.op as {afterDeletion: boolean}).afterDeletion, true)
  })

  it('security groups and replicas: one operation each, whatever the display text says', () => {
    const plan = clusterStep.plan(clusterState({securityGroupIds: ['sg-old']}), planContext({replicas: 2}))
    assert.deepEqual(ops(plan), [
      {kind: 'set-security-groups', id: 'cct-cache', from: ['sg-old'], to: ['sg-cache']},
      {kind: 'set-replicas', id: 'cct-cache', from: 0, to: 2},
      {kind: 'set-failover', id: 'cct-cache', enabled: true},
    ])
    assert.deepEqual(
      plan.map((c) => c.detail),
      [
        'security groups differ: has sg-old, needs sg-cache',
        'replicas differ: has 0, needs 2',
        'Multi-AZ and automatic failover on (--replicas > 0)',
      ],
    )
  })

  it('down to 0 replicas with Multi-AZ on: Multi-AZ and failover off first (ElastiCache refuses otherwise)', () => {
    const plan = clusterStep.plan(
      clusterState({
        nodes: 3,
        members: ['cct-cache-001', 'cct-cache-002', 'cct-cache-003'],
        multiAz: true,
        failover: true,
      }),
      planContext({replicas: 0}),
    )
    assert.deepEqual(ops(plan), [
      {kind: 'set-failover', id: 'cct-cache', enabled: false},
      {kind: 'set-replicas', id: 'cct-cache', from: 2, to: 0},
    ])
    assert.deepEqual(
      clusterStep.plan(clusterState({nodes: 2, multiAz: true, failover: true}), planContext({replicas: 1})),
      [],
      'converged with a replica',
    )
  })

  it('converged: nothing; still creating: wait; engine or node type asked differently: a note, never a recreate', () => {
    assert.deepEqual(clusterStep.plan(clusterState(), ctx), [])
    assert.deepEqual(ops(clusterStep.plan(clusterState({status: 'modifying'}), ctx)), [
      {kind: 'wait-available', id: 'cct-cache', status: 'modifying'},
    ])
    const context = planContext({nodeType: 'cache.r7g.large'})
    assert.deepEqual(clusterStep.plan(clusterState(), context), [])
    assert.match(context.notes[0]!, /node type is cache.t3.micro, asked cache.r7g.large.*cct never recreates a cache/)
  })

  it('destroy deletes, or only waits for a group already deleting', () => {
    assert.deepEqual(ops(clusterStep.destroyPlan(clusterState(), ctx)), [
      {kind: 'delete-replication-group', id: 'cct-cache', alreadyDeleting: false},
    ])
    assert.deepEqual(ops(clusterStep.destroyPlan(clusterState({status: 'deleting'}), ctx)), [
      {kind: 'delete-replication-group', id: 'cct-cache', alreadyDeleting: true},
    ])
  })
})
