/** The vpc, nat and sg steps' plans and destroy plans, from inspected states: operations, not text. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {pending, resolvePending} from '../../src/engine/step.js'
import {natStep, type NatState} from '../../src/steps/nat.js'
import {securityGroupsStep} from '../../src/steps/security-groups.js'
import {vpcStep} from '../../src/steps/vpc.js'
import {emptyVpcState, planContext, sgState, vpcState} from '../support/states.js'

const ops = (changes: {op: unknown}[]) => changes.map((c) => c.op)

describe('vpc plan', () => {
  it('from nothing: the VPC, two subnets, a private route table associated with both, two gateway endpoints; new ids pending', () => {
    const plan = vpcStep.plan(emptyVpcState(), planContext())
    const vpc = pending('cct-vpc')
    const rt = pending('cct-rt')
    const [a, b] = [pending('cct-subnet-us-east-1a'), pending('cct-subnet-us-east-1b')]
    assert.deepEqual(ops(plan), [
      {kind: 'create-vpc', id: vpc, cidr: '10.0.0.0/16'},
      {kind: 'create-subnet', id: a, vpcId: vpc, az: 'us-east-1a', cidr: '10.0.1.0/24'},
      {kind: 'create-subnet', id: b, vpcId: vpc, az: 'us-east-1b', cidr: '10.0.2.0/24'},
      {kind: 'create-route-table', id: rt, vpcId: vpc},
      {kind: 'associate-route-table', routeTableId: rt, subnetId: a},
      {kind: 'associate-route-table', routeTableId: rt, subnetId: b},
      {kind: 'create-endpoint', service: 'dynamodb', vpcId: vpc, routeTableIds: [rt]},
      {kind: 'create-endpoint', service: 's3', vpcId: vpc, routeTableIds: [rt]},
    ])
  })

  it('converged: nothing to do, and every resource listed', () => {
    const state = vpcState()
    assert.deepEqual(vpcStep.plan(state, planContext()), [])
    assert.deepEqual(
      vpcStep.resources(state, planContext()).map((r) => r.name),
      ['vpc-1', 'subnet-a', 'subnet-b', 'rtb-1', 'vpce-ddb', 'vpce-s3'],
    )
  })

  it("a deleted endpoint is created again; cct's endpoint missing a table gets the table added", () => {
    const state = vpcState({endpoints: {dynamodb: [], s3: [{id: 'vpce-s3', routeTableIds: [], managed: true}]}})
    const plan = vpcStep.plan(state, planContext())
    assert.deepEqual(ops(plan), [
      {kind: 'create-endpoint', service: 'dynamodb', vpcId: 'vpc-1', routeTableIds: ['rtb-1']},
      {kind: 'add-endpoint-route-tables', service: 's3', endpointId: 'vpce-s3', routeTableIds: ['rtb-1']},
    ])
    assert.deepEqual(
      plan.map((c) => [c.name, c.detail]),
      [
        ['cct-dynamodb-endpoint', 'dynamodb gateway on rtb-1'],
        ['vpce-s3', 's3 gateway missing route tables rtb-1'],
      ],
    )
  })

  it("the user's subnets: no route table of cct's; endpoints go on their subnets' tables", () => {
    const state = vpcState({
      userSubnets: true,
      routeTable: undefined,
      userRouteTableIds: ['rtb-user'],
      endpoints: {dynamodb: [], s3: [{id: 'vpce-theirs', routeTableIds: ['rtb-user'], managed: false}]},
    })
    assert.deepEqual(ops(vpcStep.plan(state, planContext())), [
      {kind: 'create-endpoint', service: 'dynamodb', vpcId: 'vpc-1', routeTableIds: ['rtb-user']},
    ])
  })

  it('destroy removes only what cct made: its endpoints (in one call), its table with its associations, subnets, VPC', () => {
    const state = vpcState({
      subnets: [...vpcState().subnets, {id: 'subnet-theirs', az: 'us-east-1c', cidr: '10.0.9.0/24', managed: false}],
    })
    state.endpoints.s3 = [{id: 'vpce-theirs', routeTableIds: ['rtb-1'], managed: false}]
    assert.deepEqual(ops(vpcStep.destroyPlan(state, planContext({}, 'unplan'))), [
      {kind: 'delete-endpoint', service: 'dynamodb', endpointId: 'vpce-ddb'},
      {kind: 'delete-route-table', routeTableId: 'rtb-1', associationIds: ['rtbassoc-a', 'rtbassoc-b']},
      {kind: 'delete-subnet', subnetId: 'subnet-a'},
      {kind: 'delete-subnet', subnetId: 'subnet-b'},
      {kind: 'delete-vpc', vpcId: 'vpc-1'},
    ])
  })

  it('the output of a plan names pending ids, which a run replaces with the ids it created', () => {
    const output = vpcStep.output(emptyVpcState(), planContext())
    const created = new Map([
      [pending('cct-vpc'), 'vpc-9'],
      [pending('cct-rt'), 'rtb-9'],
      [pending('cct-subnet-us-east-1a'), 'subnet-9a'],
      [pending('cct-subnet-us-east-1b'), 'subnet-9b'],
    ])
    assert.deepEqual(resolvePending(output, created), {
      vpcId: 'vpc-9',
      cidr: '10.0.0.0/16',
      privateRouteTableId: 'rtb-9',
      subnetIds: ['subnet-9a', 'subnet-9b'],
      subnetCidrs: ['10.0.1.0/24', '10.0.2.0/24'],
      zones: ['us-east-1a', 'us-east-1b'],
      routeTableIds: ['rtb-9'],
    })
  })
})

describe('sg plan', () => {
  it('from nothing: two groups, Redis from the lambda group, and the new cache group loses its allow-all egress', () => {
    const plan = securityGroupsStep.plan({vpcId: 'vpc-1'}, planContext())
    const [lambda, cache] = [pending('cct-lambda-sg'), pending('cct-cache-sg')]
    assert.deepEqual(ops(plan), [
      {kind: 'create-group', role: 'lambda', id: lambda, vpcId: 'vpc-1'},
      {kind: 'create-group', role: 'cache', id: cache, vpcId: 'vpc-1'},
      {kind: 'authorize-redis', groupId: cache, fromGroupId: lambda},
      {
        kind: 'revoke-egress',
        groupId: cache,
        rules: [{IpProtocol: '-1', FromPort: undefined, ToPort: undefined, IpRanges: [{CidrIp: '0.0.0.0/0'}]}],
      },
    ])
    assert.equal(plan[3]!.kind, 'missing', 'for status: the cache group is missing, not drifted')
  })

  it('converged: nothing to do', () => {
    assert.deepEqual(securityGroupsStep.plan(sgState(), planContext()), [])
  })

  it('the ingress revoked by hand and egress added: both spelled out, the exact rules revoked without their ids', () => {
    const state = sgState({
      cache: {
        id: 'sg-cache',
        ingress: [],
        egress: [
          {
            IpProtocol: 'tcp',
            FromPort: 443,
            ToPort: 443,
            IpRanges: [{CidrIp: '0.0.0.0/0', Description: 'x'}],
            UserIdGroupPairs: [],
          },
        ],
      },
    })
    const plan = securityGroupsStep.plan(state, planContext())
    assert.deepEqual(
      plan.map((c) => c.detail),
      ['ingress tcp 6379 from sg-lambda missing', 'egress tcp 443 to 0.0.0.0/0 present (the cache needs none)'],
    )
    assert.deepEqual(ops(plan), [
      {kind: 'authorize-redis', groupId: 'sg-cache', fromGroupId: 'sg-lambda'},
      {
        kind: 'revoke-egress',
        groupId: 'sg-cache',
        rules: [{IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{CidrIp: '0.0.0.0/0'}]}],
      },
    ])
  })

  it('destroy: the cache group first (it references the lambda group)', () => {
    assert.deepEqual(ops(securityGroupsStep.destroyPlan(sgState(), planContext({}, 'unplan'))), [
      {kind: 'delete-group', role: 'cache', groupId: 'sg-cache'},
      {kind: 'delete-group', role: 'lambda', groupId: 'sg-lambda'},
    ])
  })
})

describe('nat plan', () => {
  const natState = (overrides: Partial<NatState> = {}): NatState => ({
    vpcId: 'vpc-1',
    vpcCidr: '10.0.0.0/16',
    az: 'us-east-1a',
    privateRouteTableId: 'rtb-1',
    privateRoute: {target: 'nat-1'},
    igw: {id: 'igw-1', attached: true},
    publicSubnet: {id: 'subnet-public', az: 'us-east-1a'},
    publicRouteTable: {
      id: 'rtb-public',
      associations: ['rtbassoc-1'],
      subnetIds: ['subnet-public'],
      hasDefaultRoute: true,
    },
    eip: {allocationId: 'eipalloc-1'},
    nat: {id: 'nat-1', state: 'available'},
    ...overrides,
  })

  it('converged: nothing to do', () => {
    assert.deepEqual(natStep.plan(natState(), planContext({nat: true})), [])
  })

  it('a public route table a crashed run left without its route and its subnet gets both, and is not made again', () => {
    const state = natState({
      publicRouteTable: {id: 'rtb-public', associations: [], subnetIds: [], hasDefaultRoute: false},
    })
    assert.deepEqual(ops(natStep.plan(state, planContext({nat: true}))), [
      {kind: 'route-public-table', routeTableId: 'rtb-public', igwId: 'igw-1'},
      {kind: 'associate-public-table', routeTableId: 'rtb-public', subnetId: 'subnet-public'},
    ])
  })
})
