/**
 * Factories of the states steps inspect, for unit tests of their plans: no AWS, no sandbox.
 * Each takes the fields a test cares about and fills the rest with a converged default
 * stack ("cct", VPC vpc-1 with subnets subnet-a/subnet-b, route table rtb-1, groups
 * sg-lambda/sg-cache).
 */
import type {FunctionInfo} from '../../src/aws/functions.js'
import {encodeRecord, recordKey} from '../../src/aws/records.js'
import type {RoleInfo} from '../../src/aws/roles.js'
import type {StepContext} from '../../src/engine/step.js'
import {defaultOptions, type StackOptions} from '../../src/options.js'
import type {AttachState, VpcRecord} from '../../src/steps/attach.js'
import type {ClusterState} from '../../src/steps/cluster.js'
import type {EnvState} from '../../src/steps/env.js'
import type {SecurityGroupsState} from '../../src/steps/security-groups.js'
import type {VpcState} from '../../src/steps/vpc.js'

/** A StepContext for plan and destroyPlan: options, and the notes a plan leaves. */
export function planContext(
  options: Partial<StackOptions> = {},
  mode: StepContext['mode'] = 'plan',
): StepContext & {notes: string[]} {
  const notes: string[] = []
  return {
    aws: undefined as never,
    region: 'us-east-1',
    stack: options.stack ?? 'cct',
    options: defaultOptions(options),
    mode,
    need: () => {
      throw new Error('plan does not read other steps')
    },
    progress: () => {},
    note: (message) => notes.push(message),
    together: () => {
      throw new Error('plan does not meet other steps')
    },
    signal: new AbortController().signal,
    notes,
  }
}

export const REDIS_RULE = {IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379, UserIdGroupPairs: [{GroupId: 'sg-lambda'}]}

export function vpcState(overrides: Partial<VpcState> = {}): VpcState {
  return {
    azs: ['us-east-1a', 'us-east-1b'],
    vpc: {id: 'vpc-1', cidr: '10.0.0.0/16', managed: true},
    subnets: [
      {id: 'subnet-a', az: 'us-east-1a', cidr: '10.0.1.0/24', managed: true},
      {id: 'subnet-b', az: 'us-east-1b', cidr: '10.0.2.0/24', managed: true},
    ],
    missingSubnets: [],
    userSubnets: false,
    routeTable: {
      id: 'rtb-1',
      associations: new Map([
        ['subnet-a', 'rtbassoc-a'],
        ['subnet-b', 'rtbassoc-b'],
      ]),
    },
    userRouteTableIds: [],
    endpoints: {
      dynamodb: [{id: 'vpce-ddb', routeTableIds: ['rtb-1'], managed: true}],
      s3: [{id: 'vpce-s3', routeTableIds: ['rtb-1'], managed: true}],
    },
    ...overrides,
  }
}

/** Nothing of the stack exists yet. */
export function emptyVpcState(): VpcState {
  return vpcState({
    vpc: undefined,
    subnets: [],
    missingSubnets: [
      {az: 'us-east-1a', cidr: '10.0.1.0/24'},
      {az: 'us-east-1b', cidr: '10.0.2.0/24'},
    ],
    routeTable: undefined,
    endpoints: {dynamodb: [], s3: []},
  })
}

export function sgState(overrides: Partial<SecurityGroupsState> = {}): SecurityGroupsState {
  return {
    vpcId: 'vpc-1',
    lambda: {id: 'sg-lambda', ingress: [], egress: [{IpProtocol: '-1', IpRanges: [{CidrIp: '0.0.0.0/0'}]}]},
    cache: {id: 'sg-cache', ingress: [REDIS_RULE], egress: []},
    ...overrides,
  }
}

/** `group: null`: no replication group yet. */
export function clusterState(
  group: Partial<NonNullable<ClusterState['group']>> | null = {},
  overrides: Partial<ClusterState> = {},
): ClusterState {
  return {
    cacheGroupId: 'sg-cache',
    subnetGroup: 'cct-cache-subnet-group',
    zones: ['us-east-1a', 'us-east-1b'],
    group:
      group === null
        ? undefined
        : {
            id: 'cct-cache',
            status: 'available',
            engine: 'redis',
            nodeType: 'cache.t3.micro',
            tls: true,
            nodes: 1,
            members: ['cct-cache-001'],
            clusterMode: false,
            nodeGroups: ['0001'],
            replicasPerShard: 0,
            securityGroupIds: ['sg-cache'],
            host: 'master.cct-cache.example',
            port: 6379,
            dataTiering: false,
            ...group,
            mode: group.mode ?? (group.clusterMode ? 'enabled' : 'disabled'),
          },
    ...overrides,
  }
}

/** A function as Lambda describes it; by default outside any VPC, with no cct records. */
export function functionInfo(overrides: Partial<FunctionInfo> = {}): FunctionInfo {
  const name = overrides.name ?? 'articles-api'
  return {
    name,
    arn: `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
    role: 'arn:aws:iam::123456789012:role/demo-role',
    runtime: 'nodejs22.x',
    subnetIds: [],
    securityGroupIds: [],
    env: {TABLE_NAME: 'articles'},
    layers: [],
    tags: {},
    ...overrides,
  }
}

/** The tags cct leaves on a function when it records `value` as `what` (vpc, env, layers). */
export function recordTags(what: string, value: unknown, stack = 'cct'): Record<string, string> {
  return encodeRecord(recordKey(stack, what), value)
}

/** A function cct attached: in the stack's subnets with the lambda group, its VpcConfig before recorded. */
export function attachedFunction(
  overrides: Partial<FunctionInfo> = {},
  before: VpcRecord = {subnetIds: [], securityGroupIds: []},
): FunctionInfo {
  return functionInfo({
    vpcId: 'vpc-1',
    subnetIds: ['subnet-a', 'subnet-b'],
    securityGroupIds: ['sg-lambda'],
    tags: recordTags('vpc', before),
    ...overrides,
  })
}

export function roleInfo(overrides: Partial<RoleInfo> = {}): RoleInfo {
  return {
    name: 'demo-role',
    arn: 'arn:aws:iam::123456789012:role/demo-role',
    canCreateEni: true,
    tags: {},
    ...overrides,
  }
}

export function attachState(overrides: Partial<AttachState> = {}): AttachState {
  return {
    vpcId: 'vpc-1',
    subnetIds: ['subnet-a', 'subnet-b'],
    lambdaGroupId: 'sg-lambda',
    functions: [],
    roles: [roleInfo()],
    recorded: [],
    ...overrides,
  }
}

export const REDIS_ENV = {REDIS_HOST: 'master.cct-cache.example', REDIS_PORT: '6379', REDIS_TLS: 'true'}

export function envState(overrides: Partial<EnvState> = {}): EnvState {
  return {
    desired: {...REDIS_ENV},
    autoCache: undefined,
    recordKey: recordKey('cct', 'env'),
    functions: [],
    ...overrides,
  }
}
