/**
 * The IAM permissions cct needs, per command: the source of truth `cct policy` prints.
 *
 * Each statement groups the actions of one service and purpose, and says which parts of cct
 * use them (a step, or verify, cost, account discovery) and when: `read` (inspect, plan,
 * status), `change` (setup and the step commands) or `undo` (rollback). A command needs the
 * actions of the parts it runs in the ways it runs them.
 *
 * Two kinds of action are listed: those cct calls (the client call log, CCT_CALL_LOG, records
 * each as `service:Operation`; test/integration/policy.test.ts checks every recorded call of
 * setup, verify, status and rollback is in that command's policy), and those AWS checks in
 * addition to the call itself (`implied`: tags passed on create, the role passed to a
 * function, a layer put on a function, the service-linked role of the first cache), each
 * with the documentation that says so. Resources are `*`: cct works on functions, roles and
 * networks whose names the user chooses.
 */

/** What a command runs: one step of the stack, or one of the services outside the steps. */
export type Part =
  | 'vpc'
  | 'nat'
  | 'sg'
  | 'subnet-group'
  | 'cluster'
  | 'attach'
  | 'layer'
  | 'layer-attach'
  | 'env'
  | 'dashboard'
  | 'probe'
  | 'alarms'
  | 'account'
  | 'verify'
  | 'cost'

export type Use = 'read' | 'change' | 'undo'

export interface StatementSpec {
  /** The statement's Sid (letters and digits). */
  sid: string
  /** What it is for, in a person's words (`cct policy --json` lists it; IAM documents carry no comments). */
  why: string
  parts: readonly Part[]
  actions: Partial<Record<Use, readonly string[]>>
  /** Actions AWS checks beyond the calls cct makes, with the page that says so (no call log records them). */
  implied?: Partial<Record<Use, readonly string[]>>
  condition?: Record<string, Record<string, string | string[]>>
  /**
   * cct works without it and says what it does instead (prices: the offline table). Removing
   * it makes no step fail.
   */
  optional?: string
}

export const STATEMENTS: readonly StatementSpec[] = [
  {
    sid: 'Ec2Read',
    why: 'Find the VPC, subnets, route tables, endpoints, NAT, security groups and network interfaces; Lambda also needs these to put a function in a VPC',
    parts: ['vpc', 'nat', 'sg', 'subnet-group', 'attach', 'probe', 'verify', 'account'],
    actions: {
      read: [
        'ec2:DescribeAvailabilityZones',
        'ec2:DescribeVpcs',
        'ec2:DescribeSubnets',
        'ec2:DescribeRouteTables',
        'ec2:DescribeVpcEndpoints',
        'ec2:DescribeSecurityGroups',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeInternetGateways',
        'ec2:DescribeNatGateways',
        'ec2:DescribeAddresses',
      ],
    },
  },
  {
    sid: 'Ec2Network',
    why: "Create and remove the stack's VPC, private subnets, route table and DynamoDB/S3 gateway endpoints",
    parts: ['vpc', 'nat'],
    actions: {
      change: [
        'ec2:CreateVpc',
        'ec2:CreateSubnet',
        'ec2:CreateRouteTable',
        'ec2:AssociateRouteTable',
        'ec2:CreateVpcEndpoint',
        'ec2:ModifyVpcEndpoint',
      ],
      undo: [
        'ec2:DeleteVpcEndpoints',
        'ec2:DisassociateRouteTable',
        'ec2:DeleteRouteTable',
        'ec2:DeleteSubnet',
        'ec2:DeleteVpc',
      ],
    },
  },
  {
    sid: 'Ec2Nat',
    why: 'With --nat: the internet gateway, Elastic IP, NAT gateway and the routes to them',
    parts: ['nat'],
    actions: {
      change: [
        'ec2:CreateInternetGateway',
        'ec2:AttachInternetGateway',
        'ec2:AllocateAddress',
        'ec2:CreateNatGateway',
        'ec2:CreateRoute',
      ],
      undo: [
        'ec2:DeleteRoute',
        'ec2:DeleteNatGateway',
        'ec2:ReleaseAddress',
        'ec2:DetachInternetGateway',
        'ec2:DeleteInternetGateway',
      ],
    },
  },
  {
    sid: 'Ec2SecurityGroups',
    why: "The functions' and the cache's security groups and the one rule between them",
    parts: ['sg'],
    actions: {
      change: ['ec2:CreateSecurityGroup', 'ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupEgress'],
      undo: ['ec2:DeleteSecurityGroup'],
    },
  },
  {
    sid: 'Ec2TagOnCreate',
    why: 'cct finds its resources again by the tags it gives them when it creates them (TagSpecifications)',
    parts: ['vpc', 'nat', 'sg'],
    actions: {},
    // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html
    implied: {change: ['ec2:CreateTags']},
  },
  {
    sid: 'CacheRead',
    why: 'Find the cache and its subnet group by tags, and check the node type and engine version are offered',
    parts: ['subnet-group', 'cluster', 'verify', 'cost'],
    actions: {
      read: [
        'elasticache:DescribeCacheSubnetGroups',
        'elasticache:DescribeReplicationGroups',
        'elasticache:DescribeCacheClusters',
        'elasticache:ListTagsForResource',
        'elasticache:DescribeCacheEngineVersions',
        'elasticache:DescribeReservedCacheNodesOfferings',
        'elasticache:DescribeServerlessCaches',
      ],
    },
  },
  {
    sid: 'CacheSubnetGroup',
    why: "The cache's subnet group",
    parts: ['subnet-group'],
    actions: {
      change: ['elasticache:CreateCacheSubnetGroup', 'elasticache:ModifyCacheSubnetGroup'],
      undo: ['elasticache:DeleteCacheSubnetGroup'],
    },
  },
  {
    sid: 'CacheReplicationGroup',
    why: 'The cache (a replication group), its replicas and shards, its move to cluster mode, and the tags it is created with',
    parts: ['subnet-group', 'cluster'],
    actions: {
      change: [
        'elasticache:CreateReplicationGroup',
        'elasticache:ModifyReplicationGroup',
        'elasticache:ModifyReplicationGroupShardConfiguration',
        'elasticache:IncreaseReplicaCount',
        'elasticache:DecreaseReplicaCount',
      ],
      undo: ['elasticache:DeleteReplicationGroup'],
    },
    // https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/IAM.ResourceLevelPermissions.html (tag on create)
    implied: {change: ['elasticache:AddTagsToResource']},
  },
  {
    sid: 'CacheServerless',
    why: 'With --serverless: the cache (an ElastiCache Serverless cache), its usage limits and security groups, and the tags it is created with',
    parts: ['cluster'],
    actions: {
      change: ['elasticache:CreateServerlessCache', 'elasticache:ModifyServerlessCache'],
      undo: ['elasticache:DeleteServerlessCache'],
    },
    // https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/IAM.ResourceLevelPermissions.html (tag on create)
    implied: {change: ['elasticache:AddTagsToResource']},
  },
  {
    sid: 'ElastiCacheServiceLinkedRole',
    why: "The first cache in an account creates ElastiCache's service-linked role (AWSServiceRoleForElastiCache)",
    parts: ['cluster'],
    actions: {},
    // https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/using-service-linked-roles.html
    implied: {change: ['iam:CreateServiceLinkedRole']},
    condition: {StringLike: {'iam:AWSServiceName': 'elasticache.amazonaws.com'}},
  },
  {
    sid: 'Prices',
    why: 'List prices of cache nodes, serverless caches, NAT gateways, DynamoDB reads and Lambda (the Price List API, us-east-1)',
    parts: ['cluster', 'nat', 'cost'],
    actions: {read: ['pricing:GetProducts']},
    optional: 'without it cct uses its offline price table and says so',
  },
  {
    sid: 'ZoneOfferings',
    why: "Choose the cache's availability zones by zone id among those that offer the node type's instance family",
    parts: ['cluster'],
    actions: {read: ['ec2:DescribeInstanceTypeOfferings']},
    optional: 'without it cct chooses zones by zone id alone and says so',
  },
  {
    sid: 'LambdaRead',
    why: "Read the functions' configuration, tags (cct's records), aliases and the layer's versions; moving the cache to cluster mode, find the functions whose helpers use it",
    parts: ['attach', 'layer', 'layer-attach', 'env', 'cluster', 'probe', 'verify', 'cost', 'account'],
    actions: {
      read: [
        'lambda:ListFunctions',
        'lambda:GetFunction',
        'lambda:GetFunctionConfiguration',
        'lambda:ListTags',
        'lambda:ListAliases',
        'lambda:ListVersionsByFunction',
        'lambda:ListLayerVersions',
      ],
    },
    // https://docs.aws.amazon.com/lambda/latest/dg/adding-layers.html (permission to use a layer version)
    implied: {change: ['lambda:GetLayerVersion']},
  },
  {
    sid: 'LambdaFunctions',
    why: "Change your functions' VpcConfig, layers and environment (moving the cache to cluster mode, their helpers' endpoint), and keep the record of what was there before as tags",
    parts: ['attach', 'layer-attach', 'env', 'cluster', 'probe'],
    actions: {
      change: ['lambda:UpdateFunctionConfiguration', 'lambda:TagResource', 'lambda:UntagResource'],
      undo: ['lambda:UpdateFunctionConfiguration', 'lambda:TagResource', 'lambda:UntagResource'],
    },
  },
  {
    sid: 'LambdaLayer',
    why: "Publish the cache helper's layer, and delete its versions on rollback",
    parts: ['layer'],
    actions: {change: ['lambda:PublishLayerVersion'], undo: ['lambda:DeleteLayerVersion']},
  },
  {
    sid: 'ProbeFunction',
    why: "verify's probe function in the stack's subnets, and passing its role to Lambda",
    parts: ['probe'],
    actions: {change: ['lambda:CreateFunction', 'lambda:UpdateFunctionCode'], undo: ['lambda:DeleteFunction']},
    // https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html (iam:PassRole)
    implied: {change: ['iam:PassRole']},
  },
  {
    sid: 'IamReadRoles',
    why: "Read the functions' roles: may they create network interfaces, and what did cct attach",
    parts: ['attach', 'probe'],
    actions: {
      read: [
        'iam:GetRole',
        'iam:ListRoles',
        'iam:ListRoleTags',
        'iam:ListAttachedRolePolicies',
        'iam:ListRolePolicies',
        'iam:GetRolePolicy',
        'iam:GetPolicy',
        'iam:GetPolicyVersion',
      ],
    },
  },
  {
    sid: 'IamFunctionRoles',
    why: "Attach AWSLambdaVPCAccessExecutionRole to a function's role that lacks the VPC actions, and record it as a tag",
    parts: ['attach', 'probe'],
    actions: {
      change: ['iam:AttachRolePolicy', 'iam:TagRole'],
      undo: ['iam:DetachRolePolicy', 'iam:UntagRole'],
    },
  },
  {
    sid: 'IamProbeRole',
    why: "The probe function's own role and its inline policy",
    parts: ['probe'],
    actions: {
      change: ['iam:CreateRole', 'iam:PutRolePolicy'],
      undo: ['iam:DeleteRolePolicy', 'iam:DeleteRole'],
    },
  },
  {
    sid: 'Dashboard',
    why: "The stack's CloudWatch dashboard",
    parts: ['dashboard'],
    actions: {
      read: ['cloudwatch:GetDashboard'],
      change: ['cloudwatch:PutDashboard'],
      undo: ['cloudwatch:DeleteDashboards'],
    },
  },
  {
    sid: 'Alarms',
    why: 'With --alarms: the alarms on the runbook targets and the SNS topic they notify',
    parts: ['alarms'],
    actions: {
      read: [
        'cloudwatch:DescribeAlarms',
        'cloudwatch:ListTagsForResource',
        'sns:ListTopics',
        'sns:ListTagsForResource',
        'sns:ListSubscriptionsByTopic',
      ],
      change: ['cloudwatch:PutMetricAlarm', 'sns:CreateTopic', 'sns:Subscribe'],
      undo: ['cloudwatch:DeleteAlarms', 'sns:DeleteTopic'],
    },
    // https://docs.aws.amazon.com/sns/latest/dg/sns-using-identity-based-policies.html,
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html (Tags)
    implied: {change: ['cloudwatch:TagResource', 'sns:TagResource']},
  },
  {
    sid: 'VerifyInvoke',
    why: 'verify invokes the probe (and your functions with --traffic)',
    parts: ['verify'],
    actions: {read: ['lambda:InvokeFunction']},
  },
  {
    sid: 'Metrics',
    why: 'The CloudWatch metrics verify judges and cost compares',
    parts: ['verify', 'cost'],
    actions: {read: ['cloudwatch:GetMetricStatistics', 'cloudwatch:ListMetrics']},
  },
  {
    sid: 'CostTables',
    why: "cost reads the functions' tables' billing mode",
    parts: ['cost'],
    actions: {read: ['dynamodb:DescribeTable']},
  },
]

/** Calls AWS allows whatever the policy says (cct makes them; no statement is needed). */
export const ALWAYS_ALLOWED: readonly string[] = ['sts:GetCallerIdentity']

const STEP_NEEDS: Record<string, readonly Part[]> = {
  vpc: [],
  nat: ['vpc'],
  sg: ['vpc'],
  'subnet-group': ['vpc'],
  cluster: ['sg', 'subnet-group'],
  attach: ['vpc', 'sg'],
  layer: [],
  'layer-attach': ['layer'],
  env: ['cluster'],
  dashboard: ['cluster'],
  probe: ['vpc', 'sg', 'layer'],
  alarms: ['cluster', 'attach'],
}

/** Each step's `needs` (src/steps/): test/unit/policy.test.ts checks they match. */
export const POLICY_STEP_NEEDS: Readonly<Record<string, readonly Part[]>> = STEP_NEEDS

const ALL_STEPS = Object.keys(STEP_NEEDS) as Part[]

/** A part with everything it needs, read. */
function closure(parts: readonly Part[]): Part[] {
  const seen = new Set<Part>()
  const visit = (p: Part) => {
    if (seen.has(p)) return
    seen.add(p)
    for (const n of STEP_NEEDS[p] ?? []) visit(n)
  }
  parts.forEach(visit)
  return [...seen]
}

type Needs = Map<Part, Set<Use>>

function needs(entries: [readonly Part[], readonly Use[]][]): Needs {
  const map: Needs = new Map()
  for (const [parts, uses] of entries) {
    for (const part of parts) {
      const set = map.get(part) ?? new Set<Use>()
      uses.forEach((u) => set.add(u))
      map.set(part, set)
    }
  }
  return map
}

/** A step command: its steps changed, what they need read. */
const stepCommand = (...targets: Part[]): Needs =>
  needs([
    [closure(targets), ['read']],
    [targets, ['change']],
  ])

/** What each command runs, and how (src/commands/: their targets and services). */
export const COMMAND_NEEDS: Readonly<Record<string, Needs>> = {
  setup: needs([
    [
      [...ALL_STEPS, 'account'],
      ['read', 'change'],
    ],
  ]),
  plan: needs([[ALL_STEPS, ['read']]]),
  status: needs([[ALL_STEPS, ['read']]]),
  rollback: needs([[ALL_STEPS, ['read', 'undo']]]),
  verify: needs([[[...closure(['vpc', 'sg', 'cluster', 'layer', 'probe']), 'verify'], ['read']]]),
  cost: needs([[[...closure(['vpc', 'nat', 'cluster']), 'cost'], ['read']]]),
  vpc: stepCommand('vpc', 'nat'),
  sg: stepCommand('sg'),
  'subnet-group': stepCommand('subnet-group'),
  cluster: stepCommand('cluster'),
  attach: stepCommand('attach'),
  layer: stepCommand('layer', 'layer-attach'),
  env: stepCommand('env'),
  dashboard: stepCommand('dashboard'),
}

/** The commands `cct policy` takes, and `all` (the default): setup, verify, status, cost and rollback together. */
export const POLICY_TARGETS = ['all', ...Object.keys(COMMAND_NEEDS)] as const

export interface PolicyStatement {
  Sid: string
  Effect: 'Allow'
  Action: string[]
  Resource: '*'
  Condition?: StatementSpec['condition']
}

export interface PolicyDocument {
  Version: '2012-10-17'
  Statement: PolicyStatement[]
}

/** The statements one command needs, each with only the actions it uses; `all` is every command's. */
export function policyStatements(command: string): {spec: StatementSpec; actions: string[]}[] {
  const wanted: Needs[] = command === 'all' ? Object.values(COMMAND_NEEDS) : [COMMAND_NEEDS[command] ?? fail(command)]
  const out: {spec: StatementSpec; actions: string[]}[] = []
  for (const spec of STATEMENTS) {
    const actions = new Set<string>()
    for (const need of wanted) {
      for (const part of spec.parts) {
        for (const use of need.get(part) ?? []) {
          for (const a of spec.actions[use] ?? []) actions.add(a)
          for (const a of spec.implied?.[use] ?? []) actions.add(a)
        }
      }
    }
    if (actions.size) out.push({spec, actions: [...actions].sort()})
  }
  return out
}

export function policyDocument(command: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: policyStatements(command).map(({spec, actions}) => ({
      Sid: spec.sid,
      Effect: 'Allow',
      Action: actions,
      Resource: '*',
      ...(spec.condition ? {Condition: spec.condition} : {}),
    })),
  }
}

/** Every action a command's policy allows (and those AWS always allows). */
export function allowedActions(command: string): Set<string> {
  return new Set([...policyStatements(command).flatMap((s) => s.actions), ...ALWAYS_ALLOWED])
}

/** The SDK operations whose IAM action has another name. */
const ACTION_OF: Record<string, string> = {'lambda:Invoke': 'lambda:InvokeFunction'}

/** The IAM action of one SDK call as the call log records it (`lambda` + `Invoke` is `lambda:InvokeFunction`). */
export function iamAction(service: string, operation: string): string {
  const call = `${service}:${operation}`
  return ACTION_OF[call] ?? call
}

function fail(command: string): never {
  throw new Error(`no policy for "${command}"`)
}
